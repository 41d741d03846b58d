import { JobError } from '../errors.js';
import type { RootView } from './fs-root.js';
import { DEFAULT_DLOPEN_LIBS, type LibraryClosure, libraryClosure } from './libraries.js';
import type { LibrariesSection, ProgramRecord, ProgramsSection } from './manifest.js';

/**
 * Host programs for the rescue system (rescue.requiredPrograms and rescue.programs, ReaR's
 * REQUIRED_PROGS and PROGS) and the shared libraries they need.
 *
 * Every missing required program is named at once, and the capture stops before writing
 * anything; a missing optional one is a warning. A required program whose libraries can't all
 * be found is just as fatal: it would not start in the rescue system.
 */
export interface ProgramCapture {
  programs: ProgramsSection;
  libraries: LibrariesSection;
  /** Paths in the root that the rescue system gets: programs, interpreters, libraries. */
  paths: string[];
  warnings: string[];
}

export async function capturePrograms(
  view: RootView,
  wanted: { required: readonly string[]; optional: readonly string[]; libs: readonly string[] },
): Promise<ProgramCapture> {
  const required = new Set(wanted.required);
  const names = [...new Set([...wanted.required, ...wanted.optional])].sort();
  /** name → where the root's PATH finds it. */
  const found = new Map<string, string>();
  const missing: { name: string; required: boolean }[] = [];
  for (const name of names) {
    const entry = await view.which(name);
    if (entry) found.set(name, entry.path);
    else missing.push({ name, required: required.has(name) });
  }
  const missingRequired = missing.filter((m) => m.required).map((m) => m.name);
  if (missingRequired.length > 0) {
    throw new JobError(
      `the root lacks ${missingRequired.length} required program(s): ${missingRequired.join(', ')}; nothing was written`,
      {
        hint: 'Install them on the host, or move them from rescue.requiredPrograms to rescue.programs (optional).',
      },
    );
  }

  const closure = await libraryClosure(view, [...found.values()], {
    // The dlopen defaults (NSS, PAM, libgcc_s) serve host programs; without any, only what
    // rescue.libs names explicitly is wanted.
    extraLibraries: [...(found.size > 0 ? DEFAULT_DLOPEN_LIBS : []), ...wanted.libs],
  });
  const byPath = new Map(closure.programs.map((p) => [p.path, p]));
  const records: ProgramRecord[] = [];
  for (const [name, path] of found) {
    const program = byPath.get(path);
    if (!program) continue; // not analysable: reported in closure.problems
    records.push({
      name,
      path: program.path,
      realPath: program.realPath,
      kind: program.kind,
      interpreter: program.interpreter ?? null,
      libraries: [...program.libraries].sort(cmp),
      required: required.has(name),
    });
  }
  const requiredPaths = [...found].filter(([name]) => required.has(name)).map(([, path]) => path);
  failOnBrokenRequired(closure, records, requiredPaths);

  const paths = new Set<string>();
  for (const program of closure.programs) paths.add(program.path);
  for (const library of closure.libraries) {
    paths.add(library.path);
    for (const link of library.links) paths.add(link.path);
  }
  const warnings = [
    ...missing.map((m) => `optional program ${m.name} is not on the root's PATH; left out`),
    ...closure.unresolved.map(
      (u) => `library ${u.name} not found (needed by ${u.neededBy.join(', ')})`,
    ),
    ...closure.problems.map((p) => `${p.path}: ${p.message}`),
  ];
  return {
    programs: { found: records, missing },
    libraries: {
      resolved: closure.libraries.map((l) => ({
        path: l.path,
        realPath: l.realPath,
        soname: l.soname ?? null,
        neededBy: [...l.neededBy].sort(),
        extra: l.extra,
      })),
      unresolved: closure.unresolved.map((u) => ({
        name: u.name,
        neededBy: [...u.neededBy].sort(),
      })),
      extrasNotFound: [...closure.unmatchedExtras].sort(),
    },
    paths: [...paths].sort(cmp),
    warnings,
  };
}

/** A required program (or one it runs through #!) that can't load all its libraries is fatal. */
function failOnBrokenRequired(
  closure: LibraryClosure,
  records: ProgramRecord[],
  requiredPaths: string[],
): void {
  const requiredReal = new Set([
    ...requiredPaths,
    ...records.filter((r) => r.required).flatMap((r) => [r.realPath, ...r.libraries]),
  ]);
  const broken = closure.unresolved.filter((u) => u.neededBy.some((n) => requiredReal.has(n)));
  const problems = closure.problems.filter((p) => requiredReal.has(p.path));
  if (broken.length === 0 && problems.length === 0) return;
  const lines = [
    ...broken.map((u) => `${u.name} (needed by ${u.neededBy.join(', ')})`),
    ...problems.map((p) => `${p.path}: ${p.message}`),
  ];
  throw new JobError(
    `required programs would not run in the rescue system: missing ${lines.join('; ')}; nothing was written`,
    {
      hint: 'Install the missing libraries on the host, or make the program optional (rescue.programs).',
    },
  );
}

function cmp(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
