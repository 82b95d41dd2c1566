import { defineConfig } from 'vitest/config';

// The browser app (issue 3) adds the Svelte plugin and the worker settings here; for now this
// file carries the test runner's configuration.
export default defineConfig({
  worker: { format: 'es' },
  test: {
    include: ['test/**/*.test.ts'],
    // Simulation properties run many seeded networks; give them room, but keep the suite well under
    // the five-minute budget (long soaks live behind `npm run soak`).
    testTimeout: 60_000,
    // Forks, not threads: @roamhq/wrtc's native addon crashes when loaded in two worker threads.
    pool: 'forks',
  },
});
