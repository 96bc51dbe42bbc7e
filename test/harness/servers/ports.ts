// Loopback port helpers for the test servers: the platform's own.
export { freePort, waitForPort } from '../../../lib/net.js';
