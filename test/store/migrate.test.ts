import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { connectState, type Pool } from '../../src/store/db.js';
import { migrate, listMigrations } from '../../src/store/migrate.js';

let db: TestDatabase;
let pool: Pool;

beforeAll(async () => {
  db = await createTestDatabase('bbt_migrate');
  pool = await connectState(db.url);
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

test('migrations: two processes at once do not collide; a second start is a no-op', async () => {
  const other = await connectState(db.url);
  try {
    const [a, b] = await Promise.all([migrate(pool), migrate(other)]);
    // Every migration applied exactly once, by one of the two.
    expect([...a, ...b].sort()).toEqual(listMigrations().map((m) => m.name));
    expect(listMigrations().map((m) => m.name)).toContain('000001_init.sql');
    expect(await migrate(pool)).toEqual([]);
  } finally {
    await other.end();
  }
});
