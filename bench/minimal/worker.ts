// A bare Temporal worker for the orchestration benchmark's floor: runs bench/minimal/workflow.ts on the task
// queue given as argv[3] of the server at argv[2], with the SDK's defaults (no codec, no interceptors, no
// database). Prints "ready" once polling; SIGTERM stops it.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';

const [address, taskQueue, namespace = 'default'] = process.argv.slice(2);
const connection = await NativeConnection.connect({ address });
const worker = await Worker.create({
  connection, namespace, taskQueue,
  workflowsPath: path.join(path.dirname(fileURLToPath(import.meta.url)), 'workflow.ts'),
  activities: { noop: async () => {} },
});
process.once('SIGTERM', () => worker.shutdown());
const running = worker.run();
console.log('ready');
await running;
await connection.close();
