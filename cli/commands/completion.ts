import type { Command, Option } from 'commander';
import { PROFILES } from '../../lambda/providers/profiles.js';
import { CliError } from '../errors.js';
import type { CliIo } from '../io.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** What a completion script offers, read from the program itself so it never drifts from it. */
interface Completions {
  globals: { flag: string; takesValue: boolean; description: string; choices: string[] }[];
  commands: {
    name: string;
    description: string;
    /** Values of the first argument (profile names, shells), when there is a fixed set. */
    argumentChoices: string[];
    options: { flag: string; takesValue: boolean; description: string; choices: string[] }[];
  }[];
}

/** Fixed values the program does not declare as choices. */
const VALUES: Record<string, () => string[]> = {
  '--provider': () => [...PROFILES.keys()],
  providers: () => [...PROFILES.keys()],
  completion: () => [...SHELLS],
};

function optionsOf(options: readonly Option[]) {
  return options
    .filter((option) => option.long)
    .map((option) => ({
      flag: option.long!,
      takesValue: option.required || option.optional,
      description: option.description,
      choices: option.argChoices ?? VALUES[option.long!]?.() ?? [],
    }));
}

export function completionsOf(program: Command): Completions {
  return {
    globals: [
      ...optionsOf(program.options),
      { flag: '--help', takesValue: false, description: 'show help', choices: [] },
    ],
    commands: program.commands.map((command) => ({
      name: command.name(),
      description: command.description(),
      argumentChoices: VALUES[command.name()]?.() ?? [],
      options: [
        ...optionsOf(command.options),
        { flag: '--help', takesValue: false, description: 'show help', choices: [] },
      ],
    })),
  };
}

const NAME = 'token-refresher';

/** Single-quoted for a POSIX shell. */
function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export function bashScript(c: Completions): string {
  const valued = [...c.globals, ...c.commands.flatMap((command) => command.options)].filter(
    (o) => o.takesValue,
  );
  const choices = new Map<string, string[]>();
  for (const option of valued) if (option.choices.length > 0) choices.set(option.flag, option.choices);
  const takesValue = [...new Set(valued.map((o) => o.flag))];
  return `# ${NAME} completion for bash: source it, or put it in /etc/bash_completion.d/${NAME}
_token_refresher() {
  # zsh (through bashcompinit) indexes COMP_WORDS from 1, bash from 0.
  local base=0 cur prev cmd word i
  [ -n "\${ZSH_VERSION:-}" ] && base=1
  cur="\${COMP_WORDS[COMP_CWORD + base]}"
  prev="\${COMP_WORDS[COMP_CWORD + base - 1]}"
  local commands=${quote(c.commands.map((command) => command.name).join(' '))}
  local globals=${quote(c.globals.map((o) => o.flag).join(' '))}
  cmd=""
  for ((i = 1 + base; i < COMP_CWORD + base; i++)); do
    word="\${COMP_WORDS[i]}"
    case " $commands " in *" $word "*) cmd="$word"; break ;; esac
  done
  case "$prev" in
${[...choices].map(([flag, values]) => `    ${flag}) COMPREPLY=($(compgen -W ${quote(values.join(' '))} -- "$cur")); return 0 ;;`).join('\n')}
    ${takesValue.filter((flag) => !choices.has(flag)).join('|') || '--never'}) COMPREPLY=(); return 0 ;;
  esac
  local opts="" args=""
  case "$cmd" in
${c.commands
  .map(
    (command) =>
      `    ${command.name}) opts=${quote(command.options.map((o) => o.flag).join(' '))}; args=${quote(command.argumentChoices.join(' '))} ;;`,
  )
  .join('\n')}
    *) COMPREPLY=($(compgen -W "$commands $globals" -- "$cur")); return 0 ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts $globals" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$args" -- "$cur"))
  fi
  return 0
}
complete -F _token_refresher ${NAME}
`;
}

export function zshScript(c: Completions): string {
  return `#compdef ${NAME}
# ${NAME} completion for zsh: put it on your $fpath as _${NAME}, or source it.
# It runs the bash completion through zsh's bashcompinit (after compinit, which defines compdef).
(( $+functions[compdef] )) || { autoload -U +X compinit && compinit -u }
autoload -U +X bashcompinit && bashcompinit
${bashScript(c)
  .split('\n')
  .filter((line) => !line.startsWith('#'))
  .join('\n')}`;
}

export function fishScript(c: Completions): string {
  const lines = [`# ${NAME} completion for fish: put it in ~/.config/fish/completions/${NAME}.fish`];
  const names = c.commands.map((command) => command.name).join(' ');
  lines.push(`complete -c ${NAME} -f`);
  const option = (condition: string, o: Completions['globals'][number]) =>
    `complete -c ${NAME} -n ${quote(condition)} -l ${o.flag.slice(2)}${o.takesValue ? ' -r' : ''}${
      o.choices.length > 0 ? ` -x -a ${quote(o.choices.join(' '))}` : ''
    } -d ${quote(o.description.slice(0, 80))}`;
  for (const o of c.globals) lines.push(option('true', o));
  for (const command of c.commands) {
    lines.push(
      `complete -c ${NAME} -n ${quote(`not __fish_seen_subcommand_from ${names}`)} -a ${command.name} -d ${quote(command.description.slice(0, 80))}`,
    );
    const seen = `__fish_seen_subcommand_from ${command.name}`;
    if (command.argumentChoices.length > 0)
      lines.push(`complete -c ${NAME} -n ${quote(seen)} -a ${quote(command.argumentChoices.join(' '))}`);
    for (const o of command.options) lines.push(option(seen, o));
  }
  return `${lines.join('\n')}\n`;
}

/** `completion <shell>`: prints the shell's completion script (with `--json`, inside a document). */
export function completionCommand(
  shell: string,
  program: Command,
  io: CliIo,
  options: { json?: boolean },
): void {
  if (!(SHELLS as readonly string[]).includes(shell)) {
    throw new CliError(`unknown shell "${shell}": use one of ${SHELLS.join(', ')}`, 'usage');
  }
  const completions = completionsOf(program);
  const script =
    shell === 'bash'
      ? bashScript(completions)
      : shell === 'zsh'
        ? zshScript(completions)
        : fishScript(completions);
  io.stdout.write(options.json ? `${JSON.stringify({ shell, script }, null, 2)}\n` : script);
}
