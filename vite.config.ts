import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';
import { portFromEnv } from './server/serve.ts';
import { relayPlugin } from './server/vite-relay.ts';

/** `npm run dev` listens where `npm start` would (PORT, default 5173); a bad PORT: one line, exit 2. */
function port(): number {
  try {
    return portFromEnv(process.env);
  } catch (error) {
    process.stderr.write(`dev: ${(error as Error).message}\n`);
    process.exit(2);
  }
}

// The app (index.html → src/app/main.ts, the validator in workers/validator.worker.ts), the
// signaling relay inside `vite` / `vite preview` (server/vite-relay.ts), and the test runner.
export default defineConfig({
  plugins: [svelte({ configFile: false }), relayPlugin()],
  // Relative asset paths, so a static build also opens from disk or any sub-path of a static host
  // (tabs then meet over BroadcastChannel).
  base: './',
  server: { host: true, port: port() },
  preview: { host: true, port: port() },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    // No table of plugin timings after every build (`npm start` prints its addresses next).
    rolldownOptions: { checks: { pluginTimings: false } },
  },
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
