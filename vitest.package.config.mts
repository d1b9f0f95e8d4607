import { defineConfig } from 'vitest/config';

// `npm run test:package`: the packed-and-installed package (after `npm run prebuild`), one
// installation shared by the test files (test/package/global-setup.ts).
export default defineConfig({
  test: {
    include: ['test/package/**/*.test.ts'],
    globalSetup: ['test/package/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 600_000,
  },
});
