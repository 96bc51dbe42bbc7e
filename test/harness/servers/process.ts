// Child processes for test servers: each runs in its own process group so stop() ends it and anything it forked.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';

export interface ServerProcess {
  child: ChildProcess;
  /** The last few KB of stdout+stderr, for error messages when the server fails to start. */
  output(): string;
  /** Set once the process has exited. */
  exitError(): Error | undefined;
  stop(): Promise<void>;
}

const OUTPUT_LIMIT = 8192;

export function spawnServer(name: string, command: string, args: string[], options: SpawnOptions = {}): ServerProcess {
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let exited: Error | undefined;
  const collect = (chunk: Buffer) => { output = (output + chunk.toString()).slice(-OUTPUT_LIMIT); };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  child.on('error', (err) => { exited = new Error(`${name} could not be started (${command}): ${err.message}`); });
  child.on('exit', (code, signal) => {
    exited ??= new Error(`${name} exited (code ${code}, signal ${signal}):\n${output}`);
  });

  async function stop(): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
    const exit = once(child, 'exit');
    signalGroup(child.pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(child.pid!, 'SIGKILL'), 5000);
    await exit;
    clearTimeout(timer);
    // Forked helpers (sshd per-connection children) may outlive the leader briefly; end them too.
    signalGroup(child.pid, 'SIGKILL');
  }

  return { child, output: () => output, exitError: () => exited, stop };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}
