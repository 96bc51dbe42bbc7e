// The built processes (`npm run start:api`, `npm run start:worker`) start no servers of their own: what they
// connect to comes from the environment only, and a missing variable stops them with one sentence.
export function requireServersFromEnvironment(processName: string, env: NodeJS.ProcessEnv = process.env): void {
  const missing = ['DATABASE_URL', 'TEMPORAL_ADDRESS'].filter((name) => !env[name]);
  if (missing.length === 0) return;
  console.error(`${processName} needs ${missing.join(' and ')} set (e.g. DATABASE_URL=postgres://user:pass@host:5432/ccjobs, TEMPORAL_ADDRESS=temporal:7233); it starts no servers of its own — use npm run dev for that.`);
  process.exit(1);
}
