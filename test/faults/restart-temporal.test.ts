// The Temporal dev server (file persistence) restarted (down FAULT_RESTART_DOWN_SECONDS) in the middle of a run of
// each job: the run completes on the same worker process with nothing lost or duplicated. See restartable-servers.ts.
import { restartSuite } from './restartable-servers.js';

restartSuite('Temporal dev server');
