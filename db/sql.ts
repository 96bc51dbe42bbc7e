// postgres.js connection used by the worker, the API and the tools. Tagged templates only.
import postgres from 'postgres';

export type Sql = postgres.Sql;

export function connect(url: string, options: postgres.Options<Record<string, postgres.PostgresType>> = {}): Sql {
  return postgres(url, {
    max: 10,
    idle_timeout: 30,
    connect_timeout: 15,
    onnotice: () => {},
    ...options,
  }) as unknown as Sql;
}
