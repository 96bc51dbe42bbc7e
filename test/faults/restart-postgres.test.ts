// PostgreSQL restarted (fast shutdown, down FAULT_RESTART_DOWN_SECONDS) in the middle of a run of each job: the
// run completes on the same worker process with nothing lost or duplicated. See restartable-servers.ts.
import { restartSuite } from './restartable-servers.js';

restartSuite('PostgreSQL');
