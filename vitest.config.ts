import { defineConfig } from 'vitest/config';

// Tests drive real redis-server, ffmpeg, whisper.cpp, S3 and Chromium, and
// several of them follow a live source in real time: long timeouts, and at most
// two files at once on this 2-core machine.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 240_000,
    hookTimeout: 240_000,
    pool: 'forks',
    maxWorkers: 2,
    globalSetup: ['test/global-setup.ts'],
  },
});
