#!/usr/bin/env node
// Records every platform-specific optional package in package-lock.json, with the os/cpu/libc
// fields npm itself writes, so that `npm ci` accepts the lockfile on any platform.
//
// Why: an npm registry mirror that only carries this machine's platform binaries makes
// `npm install` leave out the other platforms' optional packages (@swc/core-*, @unrs/resolver-*),
// and `npm ci` (npm >= 11.6.2, npm/cli#8805) then refuses the lockfile as out of sync.
// Run it after every `npm install` that changes the lockfile: `node scripts/complete-lockfile.js`.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const PLATFORM = /(darwin|linux|win32|android|freebsd|openharmony)-(arm64|x64|ia32|arm|ppc64|s390x|loong64|riscv64)(?:-(gnu|musl|msvc|gnueabihf|musleabihf|eabi))?$/;
const LIBC = { gnu: 'glibc', gnueabihf: 'glibc', musl: 'musl', musleabihf: 'musl' };

function platformEntry(name, version, dev) {
  const match = PLATFORM.exec(name.split('/').pop());
  if (!match) return undefined;
  const [, os, cpu, abi] = match;
  return { version, cpu: [cpu], ...(dev ? { dev: true } : {}), ...(LIBC[abi] ? { libc: [LIBC[abi]] } : {}), optional: true, os: [os] };
}

const lockPath = path.resolve(process.argv[2] ?? 'package-lock.json');
const lock = JSON.parse(fs.readFileSync(lockPath, 'utf8'));
const packages = lock.packages;
const added = [];
for (const [location, entry] of Object.entries(packages)) {
  for (const [name, spec] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = `${location}/node_modules/${name}`.replace(/^\//, '');
    if (packages[`node_modules/${name}`] || packages[nested]) continue;
    if (!/^\d+\.\d+\.\d+$/.test(spec)) continue;
    const platformSpecific = platformEntry(name, spec, entry.dev === true);
    if (!platformSpecific) continue;
    packages[`node_modules/${name}`] = platformSpecific;
    added.push(`${name}@${spec}`);
  }
}
const [root, ...rest] = Object.keys(packages);
lock.packages = Object.fromEntries([root, ...rest.sort()].map((key) => [key, packages[key]]));
fs.writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
process.stdout.write(added.length ? `added ${added.length} platform entries:\n  ${added.join('\n  ')}\n` : 'lockfile already complete\n');
