/**
 * `npm run test:docker`: builds docker/Dockerfile and runs the image and docker-compose.yml (test/docker/). Needs a
 * Docker engine (on the test machines: ../shared/tools/local-docker, see docs/docker.md); without one every test is
 * skipped with the reason. The e2e tier's setup (the tests' PostgreSQL); one file at a time: both build the same
 * image, the second from the build cache.
 */
const { projects } = require('./jest.config.js');

const e2e = projects.find((project) => project.displayName === 'e2e');

module.exports = {
  testTimeout: 120000,
  maxWorkers: 1,
  projects: [{ ...e2e, displayName: 'docker', testMatch: ['<rootDir>/test/docker/**/*.docker-spec.ts'] }],
};
