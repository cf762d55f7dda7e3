import { chromium, type Browser } from 'playwright-core';
import { findProgram } from './not-run-reporter.js';

/**
 * Debian's chromium from PATH, headless, with nothing reaching for the network (no `playwright install`).
 * Suites guard with `requireProgram('chromium')` first.
 */
export function launchChromium(): Promise<Browser> {
  const executablePath = findProgram('chromium');
  if (!executablePath) throw new Error('chromium is not on PATH; guard the suite with requireProgram("chromium").');
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
