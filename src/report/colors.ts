import pc from 'picocolors';

export type Colors = ReturnType<typeof pc.createColors>;

/** Colors only for a terminal that wants them: --no-color and NO_COLOR switch them off. */
export function makeColors(enabled: boolean): Colors {
  return pc.createColors(enabled);
}
