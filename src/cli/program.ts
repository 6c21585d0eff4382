// The name the command line was invoked by. kubectl runs a plugin `kubectl eviction-guard ...` as
// the executable kubectl-eviction_guard found on PATH (a dash in the command is an underscore in
// the file name), and npm installs that bin next to eviction-guard: the same entry point, so help
// and usage show the form the user typed.
import path from 'node:path';

export const PROGRAM = 'eviction-guard';
export const KUBECTL_PLUGIN_BINARY = 'kubectl-eviction_guard';

/** `kubectl eviction-guard` when run through the plugin binary, else `eviction-guard`. */
export function invokedAs(script: string | undefined = process.argv[1]): string {
  // win32's basename splits on both separators, so a Windows npm shim's path works here too.
  const binary = path.win32.basename(script ?? '').replace(/\.(c?js|cmd|ps1|exe)$/i, '');
  return binary === KUBECTL_PLUGIN_BINARY ? `kubectl ${PROGRAM}` : PROGRAM;
}

/** A usage text with its command lines ("Usage: eviction-guard ...", "eviction-guard lint" in quotes) under the invoked name. */
export function usageAs(usage: string, name: string = invokedAs()): string {
  return name === PROGRAM ? usage : usage.replace(/(^Usage: |["`(])eviction-guard(?=[ "`)])/gm, `$1${name}`);
}
