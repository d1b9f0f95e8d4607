import { defineConfig } from 'vitest/config';

// `npm run test:package`: the packed-and-installed package (after `npm run prebuild`).
export default defineConfig({
  test: {
    include: ['test/package/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 600_000,
  },
});
