// `npm run migrate`: applies pending migrations to DATABASE_URL.
import { config } from '../lib/config.js';
import { connect } from './sql.js';
import { migrate } from './migrate.js';

const url = config().DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL is not set: name the PostgreSQL database to migrate.');
  process.exit(1);
}
const sql = connect(url, { max: 1 });
try {
  const applied = await migrate(sql);
  console.log(applied.length ? `applied ${applied.join(', ')}` : 'database is up to date');
} finally {
  await sql.end();
}
