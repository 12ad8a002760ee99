/** A fenced shell block of a Markdown file and the commands in it. */
export interface ShellBlock {
  /** 1-based line of the opening fence. */
  line: number;
  commands: string[];
}

const FENCE = /^(\s*)```(\w*)\s*$/;
const SHELL = new Set(['sh', 'bash', 'shell', 'console']);

/**
 * Every fenced block marked sh, bash or shell, indented ones (inside list items) too, split into its
 * commands the way a person pastes them: a line ending in `\` goes on, a here-document runs to its
 * terminator, blank lines and whole-line comments are not commands.
 */
export function shellBlocks(markdown: string): ShellBlock[] {
  const lines = markdown.split('\n');
  const blocks: ShellBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] ?? '');
    if (!open) continue;
    const indent = open[1] ?? '';
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j] ?? ''); j++) body.push((lines[j] ?? '').slice(indent.length));
    if (SHELL.has(open[2] ?? '')) blocks.push({ line: i + 1, commands: splitCommands(body) });
    i = j;
  }
  return blocks;
}

function splitCommands(lines: string[]): string[] {
  const commands: string[] = [];
  let current: string[] = [];
  let heredoc: string | null = null;
  for (const line of lines) {
    if (heredoc !== null) {
      current.push(line);
      if (line === heredoc) {
        heredoc = null;
        commands.push(current.join('\n'));
        current = [];
      }
      continue;
    }
    if (current.length === 0 && (line.trim() === '' || line.trim().startsWith('#'))) continue;
    // A line holding only a comment after a command belongs to it (the README aligns such notes).
    current.push(line);
    const marker = /<<-?'?(\w+)'?/.exec(line);
    if (marker) {
      heredoc = marker[1] ?? null;
      continue;
    }
    if (line.endsWith('\\')) continue;
    commands.push(current.join('\n'));
    current = [];
  }
  if (current.length > 0) commands.push(current.join('\n'));
  return commands;
}
