// client-node 1.x and parts of its dependency tree ship ESM only; jest runs CommonJS,
// so those packages (and only those) are transformed with swc.
const esmOnly = [
  '@kubernetes/client-node',
  'openid-client',
  'jose',
  'oauth4webapi',
  'socks-proxy-agent',
  'agent-base',
  '@jsep-plugin',
  'jsonpath-plus',
  'jsep',
  'rfc4648',
  'github-slugger',
];

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    '^.+\\.m?js$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  testTimeout: 20000,
  // Extracts the real helm and kubectl (test/helpers/tools.ts) before any suite runs.
  globalSetup: '<rootDir>/test/global-setup.ts',
};
