/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS config */
// The `k8s` project of jest.config.js on its own (`npm run test:k8s`): the tests against a
// real kube-apiserver + etcd. A config file of its own rather than --selectProjects, so
// that `npm run test:k8s -- <path>` takes a path.
const { projects, testTimeout } = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = { testTimeout, ...projects.find((project) => project.displayName === 'k8s') };
