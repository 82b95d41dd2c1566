import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';
import { relayPlugin } from './server/vite-relay.ts';

// The app (index.html → src/app/main.ts, the validator in workers/validator.worker.ts), the
// signaling relay inside `vite` / `vite preview` (server/vite-relay.ts), and the test runner.
export default defineConfig({
  plugins: [svelte({ configFile: false }), relayPlugin()],
  // Relative asset paths, so a static build also opens from disk or any sub-path of a static host
  // (tabs then meet over BroadcastChannel).
  base: './',
  server: { host: true, port: 5173 },
  preview: { host: true, port: 5173 },
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true },
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
