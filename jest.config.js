// @kubernetes/client-node and a few of its dependencies ship only ES modules; jest's
// CommonJS runtime needs them compiled (plain Node 20 loads them with require()).
const esmPackages = ['@kubernetes/client-node', 'openid-client', 'oauth4webapi', 'jose'];

const shared = {
  testEnvironment: 'node',
  roots: ['<rootDir>'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }],
    '^.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'ecmascript' } }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join('|')})/)`],
  // Crash and property tests spawn processes and open RocksDB: run files in parallel
  // but give each test room.
  testTimeout: 60_000,
};

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: shared.testTimeout,
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: [...shared.testPathIgnorePatterns, '\\.k8s\\.test\\.ts$'],
    },
    // Tests against a real kube-apiserver + etcd (`*.k8s.test.ts`). The global setup runs
    // only when one of them is selected: it builds the binaries if missing
    // (test/k8s/build-tools.sh) and starts one API server for the whole run.
    {
      ...shared,
      displayName: 'k8s',
      testMatch: ['**/*.k8s.test.ts'],
      globalSetup: '<rootDir>/test/k8s/global-setup.ts',
      globalTeardown: '<rootDir>/test/k8s/global-teardown.ts',
    },
  ],
};
