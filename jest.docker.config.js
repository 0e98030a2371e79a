/**
 * `npm run test:docker`: builds docker/Dockerfile and runs the image and docker-compose.yml (test/docker/). Needs a
 * Docker engine (on the test machines: ../shared/tools/local-docker, see docs/docker.md); without one every test is
 * skipped with the reason. One file at a time: both build the same image, the second from the build cache.
 */
const base = require('./jest.config.js');

module.exports = {
  ...base,
  testMatch: ['<rootDir>/test/docker/**/*.docker-spec.ts'],
  testTimeout: 120000,
  maxWorkers: 1,
};
