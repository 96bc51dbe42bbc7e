// `npm run start:api` (node dist/api/start.js): the API from the build, configured by the environment only.
import { requireServersFromEnvironment } from '../lib/production-env.js';

requireServersFromEnvironment('the API');
await import('./main.js');
