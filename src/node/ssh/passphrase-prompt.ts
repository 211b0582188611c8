/**
 * The terminal passphrase prompt. Commands pass it as SessionOptions.askPassphrase only when stdin
 * is a TTY; without one, encrypted keys fail with kind 'passphrase' and the fix (ssh-add).
 */
import { password } from '@inquirer/prompts';

export function terminalPassphrasePrompt(): (keyFile: string) => Promise<string> {
  return (keyFile) => password({ message: `Passphrase for key ${keyFile}:`, mask: false });
}
