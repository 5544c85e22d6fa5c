/**
 * The app container's environment: ${STAGING_DB_*} placeholders point at the staging database on the
 * per-run network (alias staging-db), never at production. (The app container itself is not started
 * here: no cheap HTTP-serving image exists on this machine without a registry.)
 */
import { appEnv } from '../../../src/core/verify/staging.js';
import type { Staging } from '../../../src/core/staging/container.js';

const s = { engine: 'postgres', innerPort: 5432, database: 'demo_restore_test', user: 'postgres', password: 'p@ss/w:rd' } as unknown as Staging;

describe('appEnv', () => {
  it('fills every STAGING_DB_* placeholder and leaves other text alone', () => {
    expect(appEnv(s, {
      DATABASE_URL: '${STAGING_DB_URL}',
      DB_HOST: '${STAGING_DB_HOST}', DB_PORT: '${STAGING_DB_PORT}', DB_NAME: '${STAGING_DB_NAME}', DB_USER: '${STAGING_DB_USER}', DB_PASS: '${STAGING_DB_PASSWORD}',
      JDBC: 'jdbc:postgresql://${STAGING_DB_HOST}:${STAGING_DB_PORT}/${STAGING_DB_NAME}',
      OTHER: '${NOT_A_STAGING_VAR} plain',
    })).toEqual([
      'DATABASE_URL=postgresql://postgres:p%40ss%2Fw%3Ard@staging-db:5432/demo_restore_test',
      'DB_HOST=staging-db', 'DB_PORT=5432', 'DB_NAME=demo_restore_test', 'DB_USER=postgres', 'DB_PASS=p@ss/w:rd',
      'JDBC=jdbc:postgresql://staging-db:5432/demo_restore_test',
      'OTHER=${NOT_A_STAGING_VAR} plain',
    ]);
  });
});
