// The layering rule of docs/architecture.md "Layering", checked on the code: an app depends on libraries
// only, in its package.json and in its source's imports.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const apps = readdirSync(join(root, 'apps'));
const packageOf = (app: string) =>
  JSON.parse(readFileSync(join(root, 'apps', app, 'package.json'), 'utf8')) as {
    name: string;
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
const appNames = new Map(apps.map((app) => [packageOf(app).name, app]));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory())
      return entry.name === 'node_modules' || entry.name === 'dist' ? [] : sources(path);
    return /\.(ts|js|mjs)$/.test(entry.name) ? [path] : [];
  });
}

const specifiers = (text: string) =>
  [...text.matchAll(/\b(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((match) => match[1]!);

describe('layers', () => {
  it.each(apps)('apps/%s depends on no other app in its package.json', (app) => {
    const { dependencies = {}, devDependencies = {} } = packageOf(app);
    const others = Object.keys({ ...dependencies, ...devDependencies }).filter((name) => appNames.has(name));
    expect(others).toEqual([]);
  });

  it.each(apps)('apps/%s imports no other app, by package name or by path', (app) => {
    const home = resolve(root, 'apps', app);
    const crossings: string[] = [];
    for (const file of sources(home)) {
      for (const specifier of specifiers(readFileSync(file, 'utf8'))) {
        const byName = appNames.get(specifier.split('/').slice(0, 2).join('/'));
        const target = specifier.startsWith('.') ? resolve(file, '..', specifier) : undefined;
        const byPath = target?.startsWith(join(root, 'apps') + sep) && !target.startsWith(home + sep);
        if ((byName && byName !== app) || byPath) crossings.push(`${relative(root, file)} → ${specifier}`);
      }
    }
    expect(crossings).toEqual([]);
  });
});
