/**
 * Each command's typed options, read from commander's parsed values (citty-style: one reader per
 * command, no casts at the call site). Types only are imported from the commands, so `--help`
 * still loads none of them.
 */
import { UsageError } from '../errors.js';
import type { ApplyOptions } from './apply.js';
import {
  commonOptions,
  flagOption,
  numberOption,
  present,
  stringOption,
  textOption,
  type CommonOptions,
  type RawOptions,
} from './options.js';
import type { PlanOptions } from './plan.js';
import type { RollbackOptions } from './rollback.js';

/** A value commander was told is required (`requiredOption`): absent only if that declaration changed. */
function requiredText(raw: RawOptions, key: string, flag: string): string {
  const v = raw[key];
  if (typeof v !== 'string') throw new UsageError(`${flag} is required`);
  return v;
}

export const planOptions = (raw: RawOptions): PlanOptions => ({
  ...commonOptions(raw),
  ...present('out', textOption(raw, 'out')),
  ...present('diff', textOption(raw, 'diff')),
  ...present('sign', textOption(raw, 'sign')),
  issueCerts: flagOption(raw, 'issueCerts'),
});

/**
 * apply's options. `serial` is absent unless --serial was given: the rollout then takes the
 * playbooks' `rollout.serial` (apply/rollout.ts rolloutSerial), which a default here would override.
 */
export const applyOptions = (raw: RawOptions): ApplyOptions => ({
  ...commonOptions(raw),
  ...present('plan', textOption(raw, 'plan')),
  // Kept even when empty: `--plan-sha256 ""` is a hash no plan has, never "no check".
  ...present('planSha256', stringOption(raw, 'planSha256')),
  ...present('allowedSigners', stringOption(raw, 'allowedSigners')),
  ...present('planSignature', stringOption(raw, 'planSignature')),
  yes: flagOption(raw, 'yes'),
  ...present('serial', numberOption(raw, 'serial')),
  keepGoing: flagOption(raw, 'keepGoing'),
  ...present('notAfter', textOption(raw, 'notAfter')),
});

export const rollbackOptions = (raw: RawOptions): RollbackOptions => ({
  ...commonOptions(raw),
  node: requiredText(raw, 'node', '--node'),
  ...present('backup', textOption(raw, 'backup')),
  yes: flagOption(raw, 'yes'),
});

export const backupsOptions = (raw: RawOptions): CommonOptions & { node: string } => ({
  ...commonOptions(raw),
  node: requiredText(raw, 'node', '--node'),
});
