import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The package install test needs the prebuilt binaries: `npm run test:package`.
    exclude: ['test/package/**', '**/node_modules/**'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // Native work already uses every core; test files run one at a time.
    fileParallelism: false,
  },
});
