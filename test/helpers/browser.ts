// Headless Chromium (Debian's, through playwright-core) as the tests use it:
// no sandbox or GPU, no background traffic, and media allowed to play
// without a gesture.
import { chromium, type Browser, type Page } from 'playwright-core';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

/** Collects what a page reports of Content-Security-Policy violations and script errors. */
export function pageProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
  return problems;
}

export interface PlaybackCheck {
  duration: number;
  /** Position after playing ~0.7 s from the start. */
  fromStart: number;
  /** Position ~0.7 s after seeking to `seekTo`. */
  afterSeek: number;
  paused: boolean;
  error: number | null;
}

/** Loads `url` in an <audio> on `page`, plays it from the start, then seeks to `seekTo` and plays on. */
export async function audioPlaysAndSeeks(page: Page, url: string, seekTo: number): Promise<PlaybackCheck> {
  await page.setContent('<!doctype html><title>audio</title>');
  return page.evaluate(
    async ({ url, seekTo }) => {
      const a = document.createElement('audio');
      a.preload = 'auto';
      document.body.append(a);
      const duration = await new Promise<number>((resolve, reject) => {
        a.onloadedmetadata = () => resolve(a.duration);
        a.onerror = () => reject(new Error(`media error ${a.error?.code}: ${a.error?.message}`));
        a.src = url;
      });
      await a.play();
      await new Promise((r) => setTimeout(r, 700));
      const fromStart = a.currentTime;
      const sought = new Promise<void>((r) => (a.onseeked = () => r()));
      a.currentTime = seekTo;
      await sought;
      await new Promise((r) => setTimeout(r, 700));
      return { duration, fromStart, afterSeek: a.currentTime, paused: a.paused, error: a.error?.code ?? null };
    },
    { url, seekTo },
  );
}
