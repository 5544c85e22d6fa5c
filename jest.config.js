/** Tests run as ES modules (node --experimental-vm-modules), TypeScript stripped by @swc/jest. */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['@swc/jest', {
      jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
      module: { type: 'es6' },
      sourceMaps: 'inline',
    }],
  },
  testTimeout: 120000,
  maxWorkers: 2,
  // ES-module test files (vm modules) are not freed between files of one worker: recycle a worker that has
  // grown, rather than let it reach the heap limit (a worker once aborted with SIGABRT late in a full run).
  workerIdleMemoryLimit: '800MB',
};
