import { diffFiles } from './diff-files.js';
import {
  type CaptureDiff,
  type Change,
  diffFields,
  diffMembers,
  type SectionDiff,
  type SectionName,
} from './diff-model.js';
import { diffCopyAsIs, diffLibraries, diffPrograms } from './diff-programs.js';
import { diffBootloader, diffKernel, diffNetwork } from './diff-system.js';
import type { CaptureManifest } from './manifest.js';

/**
 * `lifeboat capture diff A B`: what drifted between two captures of a host (A the older, B the
 * newer), section by section, items matched by key. The CLI exits 1 when `changed` is true.
 */

export { formatCaptureDiff, summarizeCaptureDiff } from './diff-format.js';
export type {
  CaptureDiff,
  Change,
  ChangeKind,
  Detail,
  ItemKind,
  Scalar,
  SectionDiff,
  SectionName,
} from './diff-model.js';

export function diffCaptures(a: CaptureManifest, b: CaptureManifest): CaptureDiff {
  const candidates: [SectionName, string, Change[]][] = [
    ['identity', 'Identity', diffIdentity(a, b)],
    ['programs', 'Programs', diffPrograms(a.programs, b.programs)],
    ['libraries', 'Libraries', diffLibraries(a.libraries, b.libraries)],
    ['copyAsIs', 'Copied as is', diffCopyAsIs(a.copyAsIs, b.copyAsIs)],
    ['kernel', 'Kernel', diffKernel(a.kernel, b.kernel)],
    ['network', 'Network', diffNetwork(a.network, b.network)],
    ['bootloader', 'Bootloader', diffBootloader(a.bootloader, b.bootloader)],
    ['files', 'Files', diffFiles(a.files, b.files)],
    ['warnings', 'Warnings', diffMembers(a.warnings, b.warnings, 'warning')],
  ];
  const sections = candidates
    .filter(([, , changes]) => changes.length > 0)
    .map(([section, title, changes]): SectionDiff => ({ section, title, changes }));
  return { changed: sections.length > 0, sections };
}

/** The capture's settings and the host's identity, field by field under their manifest names. */
function diffIdentity(a: CaptureManifest, b: CaptureManifest): Change[] {
  const x = a.identity;
  const y = b.identity;
  return diffFields('identity field', [
    ['schema', a.schema, b.schema],
    ['source.live', a.source.live, b.source.live],
    ['source.modulePolicy', a.source.modulePolicy, b.source.modulePolicy],
    ['hostname', x.hostname, y.hostname],
    ['os.id', x.os.id, y.os.id],
    ['os.versionId', x.os.versionId, y.os.versionId],
    // ID_LIKE is ordered (closest relative first), so it compares as one value.
    ['os.idLike', x.os.idLike.join(' '), y.os.idLike.join(' ')],
    ['os.prettyName', x.os.prettyName, y.os.prettyName],
    ['os.versionCodename', x.os.versionCodename, y.os.versionCodename],
    ['arch', x.arch, y.arch],
    ['kernelVersion', x.kernelVersion, y.kernelVersion],
    ['bootMode', x.bootMode, y.bootMode],
  ]);
}
