// Golden files: expected command output kept next to the fixtures. UPDATE_GOLDEN=1 rewrites them
// (review the diff before committing).
import { readFileSync, writeFileSync } from 'node:fs';

export function expectGolden(file: string, actual: string): void {
  if (process.env.UPDATE_GOLDEN === '1') {
    writeFileSync(file, actual);
    return;
  }
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

/** Runs a command function with stdout captured. */
export async function captureStdout(run: () => Promise<number>): Promise<{ exitCode: number; stdout: string }> {
  const chunks: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  });
  try {
    const exitCode = await run();
    return { exitCode, stdout: chunks.join('') };
  } finally {
    spy.mockRestore();
  }
}
