import { stemmer } from 'stemmer';
import { isStopword, type Terms } from './terms.js';

/**
 * Whether a newer unkeyed decision revises an older one, from their wording alone (deterministic, no
 * model). Agents rarely repeat a decision's words when they revise it ("Sessions now end after 20
 * minutes idle" → "Idle timeout raised to 45 minutes after user complaints"), so overlap of subject
 * alone misses most revisions, and lowering its threshold merges decisions that are both current
 * ("Redis for the session cache" / "Redis streams for the job queue"). Overlap is therefore weighed
 * together with what a revision says besides its subject: a revision word linked to the old
 * decision's topic, a value that changed on the same anchor, a reason the old way failed, and a
 * later phase; additive wording ("too", "also") counts against it.
 */

/** What a decision's wording says, apart from its terms: computed once per decision. */
export interface DecisionTraits {
  /** The stem of its first content word: what the sentence is about, or its verb ("use" and the like skipped). */
  head: string | undefined;
  /** Values (numbers, versions, `P1`) by the stems of the words next to them: `minut` → {20}. */
  values: Map<string, Set<string>>;
  /** Per anchor, how its values stand: right after it (`partition 17`, a label), right before it (`24 partitions`, a count). */
  valueSides: Map<string, Set<'label' | 'count'>>;
  /** It says it revises something: "instead", "no longer", "raised to", "postponed", ", not …". */
  revises: boolean;
  /** Stems of the words right after its revision words: what it says it replaces ("instead of winston"). */
  revisedWords: string[];
  /** Per phrase naming what it replaces ("instead of X", "rather than X", ", not X"), the stems of X's words. */
  replaced: string[][];
  /** Only "now": a revision as often as a plain statement ("the settings page now also gets …"). */
  weaklyRevises: boolean;
  /** It gives a reason an earlier way failed: "too slow", "lagged", "end of life". */
  givesReason: boolean;
  /** Stems of the words of its later clauses that say something failed ("; offsets time out on large tables"). */
  faultedWords: string[];
  /** It adds to rather than replaces: "too", "also", "as well". */
  adds: boolean;
  /** Stems of the words after its first "for": what its choice is for ("Use Redis for the session cache" → session, cache). */
  purpose: string[];
  /** Per negation of a named thing, its words and what the rest of the sentence says instead (see `deniedNamesOf`). */
  deniedNames: DeniedName[];
  /** Per ban ("… stay forbidden"), the stems of the words before it in its clause ("Custom nginx snippets"). */
  forbidden: string[][];
  /** Per "no"/"not"/"never"/"without", the stems of its clause's content words after it ("Do not stay on kafkajs"). */
  deniedClauses: string[][];
  /** Per value it says it replaces ("150 ms, not 200", "from 100 ms to 66 ms"), that value and the stem of its unit. */
  replacedValues: ReplacedValue[];
  /** Values it says something happens at: "After 5 failures, …", "Once 10 attempts are reached, …". */
  thresholds: string[];
  /** Stems of the words of a clause saying something ran out: "Once retries are exhausted, …". */
  usedUp: string[];
  /** Per "every"/"all"/"each", the stems of the words right after it: the items its rule covers ("every pull request" → pull, request). */
  quantified: string[][];
  /** Its tokens in order, content words as stems, the others as written ("at", "16"). */
  stems: string[];
  /** Its tokens in order, as written (lower case). */
  words: string[];
  /** Per content word's stem, the stem of the content word right after it in one clause ("feature flags"). */
  nextWords: Map<string, string>;
}

/** A value a decision says it replaces, and what it is of: "150 ms, not 200" → 200, `ms`. */
interface ReplacedValue {
  value: string;
  unit: string;
}

const revisionWords = new RegExp(
  `\\b(?:${[
    'instead',
    'no longer',
    'rather than',
    'replac\\w*',
    'switch(?:es|ed|ing)?',
    'supersed\\w*',
    'revis\\w*',
    'overrid\\w*',
    'overrul\\w*',
    'revert\\w*',
    'roll(?:s|ed)? back',
    'revers(?:e|es|ed)',
    'abandon\\w*',
    // "Forget the canvas worker: …", "Ditch Moment.js" — not "Don't forget to …", a reminder.
    "(?<!(?:n't|not|never) )forget",
    'ditch(?:es|ed)?',
    'discard(?:s|ed)?',
    'scrap(?:s|ped)?',
    // "Scratch the CSV exports", not "rebuilt from scratch" nor "scratch backups" (a kind of backup).
    '(?<!from )scratch(?:es)?(?= (?:the|this|that|these|those|our|its?|all|any|every)\\b)',
    'scratched',
    // "Stop sending the digest": what the older one did, ended.
    'stop(?:s|ped)? \\w+ing',
    // "Manual smoke tests are no more", not the limit "no more than 5".
    'no more(?! than)',
    // The old value named: "45 minutes (was 20)", "4 per host, previously 8".
    '(?:previously|formerly)(?= \\S*\\d)',
    '(?:up|down) from',
    'decided against',
    'after all',
    'on (?:second thought|reflection)',
    'reconsider\\w*',
    'anymore',
    // "Deploys are blue-green from now on": a practice changed from here on, not a plain "now".
    'from now on',
    'going forward',
    'back to',
    'postpon\\w*',
    'defer(?:s|red)?',
    'cancel\\w*',
    'ahead of',
    'becom(?:e|es)',
    'became',
    'remov(?:e|es|ed)',
    'disabl(?:e|es|ed)',
    'turn(?:s|ed)? off',
    'withdr[ae]wn?',
    'undo(?:ne)?',
    'slip(?:s|ped)?',
    'deprioriti[sz]\\w*',
    'descop\\w*',
    'out of scope',
    '(?:goes|go|comes|come|moves|move) first',
    'dropp?(?:s|ed|ing)?',
    // "Move the cron jobs to a scheduler service": what it moves named between the verb and "to".
    'mov(?:e|es|ed) (?:\\S+ ){1,3}(?:to|onto|into)',
    // A changed value: "raised to 45 minutes", "moves to Postmark", "cut from this sprint".
    '(?:rais(?:e|es|ed)|lower(?:s|ed)?|increas(?:e|es|ed)|decreas(?:e|es|ed)|reduc(?:e|es|ed)|bump(?:s|ed)?|cuts?|' +
      'extend(?:s|ed)?|shorten(?:s|ed)?|mov(?:e|es|ed)|chang(?:e|es|ed)|lift(?:s|ed)?|push(?:es|ed)?|delay(?:s|ed)?|' +
      'brought|bring(?:s)?|go(?:es)?|went) (?:to|back|forward|from|down|up)',
  ].join('|')})\\b|,\\s*(?:not|never)\\b|\\(\\s*was\\b`,
  'gi',
);
const reasonWords =
  /\b(too (?:slow|risky|expensive|costly|complex|late|early|long|short|big|small|far|often|much|many)|(?:after|following) (?:the )?(?:\w+ )?(?:tests?|testing|complaints|feedback|benchmarks?|incidents?|outages?|review|audit|guidance|advice|policy)|per (?:the )?(?:\w+ )?(?:team|request|policy)|slow(?:s|ed)|was (?:too|poor|slow|unreliable|flaky|broken)|were (?:too|poor|slow)|lagg?(?:s|ed)|throttl(?:es|ed)|fail(?:s|ed)|drain(?:s|ed)|overload(?:s|ed)|exhaust(?:s|ed)|stall(?:s|ed)|broke|breaks|choked|crash(?:es|ed)|maintenance mode|end of life|deprecated|turned out)\b/i;
const additiveWords = /\b(also|as well|in addition|additionally)\b|\btoo(?=\s*(?:[.;,)]|$))/i;

/** Verbs that open many decisions ("Use X", "Keep Y") and say nothing of their subject. */
const genericHeads = new Set(
  'use uses used using make makes add adds keep keeps set sets get gets go goes run runs build builds do does new every'.split(
    ' ',
  ),
);

const numberWords = new Set(
  'one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty sixty hundred thousand'.split(
    ' ',
  ),
);

export const isValue = (token: string): boolean => /\d/.test(token) || numberWords.has(token);
export const isContentWord = (token: string): boolean =>
  /^[a-z]{2,}$/.test(token) && !isStopword(token) && !isValue(token);

/** Words with their numbers whole ("5,000", "v2.1", "10%"), lower case, in order. */
export const tokensOf = (text: string): string[] =>
  (text.toLowerCase().match(/[a-z]*\d[\d,.]*\d%?|[a-z]*\d%?|[a-z]+/g) ?? []).map((t) => t.replace(/,/g, ''));

/** How far before a value the words naming it may be, in tokens ("concurrency is set to 16"). */
const ANCHOR_REACH = 4;
/** How many words before a value name it ("bcrypt cost factor is 12" → factor, cost). */
const ANCHORS_BEFORE = 2;

/** A word that can name what a value is of: not a filler verb ("concurrency is set to 16"). */
const isAnchor = (token: string): boolean => isContentWord(token) && !genericHeads.has(token);

/**
 * Each value by the words that say what it is of: its unit right after it (`20 minutes`, `10 MB`),
 * the nearest words naming it before it (`port 8080`, `concurrency 4`), its own prefix (`P1`, `v2`).
 */
function valuesOf(tokens: string[]): Map<string, Set<string>> {
  const values = new Map<string, Set<string>>();
  const note = (anchor: string, value: string): void => {
    const stem = stemmer(anchor);
    values.set(stem, (values.get(stem) ?? new Set()).add(value));
  };
  tokens.forEach((token, i) => {
    if (!isValue(token)) return;
    const prefix = /^[a-z]+(?=\d)/.exec(token)?.[0];
    if (prefix) note(prefix, token);
    if (token.endsWith('%')) note('percent', token);
    const unit = tokens[i + 1];
    if (unit !== undefined && isAnchor(unit)) note(unit, token);
    const before = tokens.slice(Math.max(0, i - ANCHOR_REACH), i).filter(isAnchor);
    for (const anchor of before.slice(-ANCHORS_BEFORE)) note(anchor, token);
  });
  return values;
}

/** Per word a value stands right after (a label: `partition 17`) or right before (a count: `24 partitions`), which. */
function valueSidesOf(tokens: string[]): Map<string, Set<'label' | 'count'>> {
  const sides = new Map<string, Set<'label' | 'count'>>();
  const note = (word: string | undefined, side: 'label' | 'count'): void => {
    if (word === undefined || !isAnchor(word)) return;
    const stem = stemmer(word);
    sides.set(stem, (sides.get(stem) ?? new Set()).add(side));
  };
  tokens.forEach((token, i) => {
    if (!isValue(token)) return;
    note(tokens[i - 1], 'label');
    note(tokens[i + 1], 'count');
  });
  return sides;
}

/**
 * One word numbers one thing in one decision and counts things in the other ("partition 17" / "24
 * partitions", "Node 18" / "18 nodes"): their values are not one setting changed.
 */
const labelAndCount = (older: DecisionTraits, newer: DecisionTraits, anchor: string): boolean => {
  const [a, b] = [older.valueSides.get(anchor), newer.valueSides.get(anchor)];
  const only = (sides: Set<string> | undefined, side: string): boolean => sides?.size === 1 && sides.has(side);
  return (only(a, 'label') && only(b, 'count')) || (only(a, 'count') && only(b, 'label'));
};

/** How many content words after a revision word may name what it revises. */
const REVISED_REACH = 3;

/** Stems of the content words right after each revision word ("instead of winston" → `winston`). */
function revisedWordsOf(content: string): string[] {
  const found: string[] = [];
  for (const match of content.matchAll(revisionWords)) {
    const after = tokensOf(content.slice(match.index + match[0].length)).filter(isContentWord);
    found.push(...after.slice(0, REVISED_REACH).map((w) => stemmer(w)));
  }
  return found;
}

/** Phrases whose next words name what a decision replaces, not what it moves to ("raised to 45"). */
const replacingPhrases = /(?:\binstead of|\brather than|\bin place of|\breplac(?:es|ing)|,\s*(?:not|never))\s+/gi;

/** The stems of the content words each replacing phrase names, up to `REVISED_REACH` of them. */
function replacedWordsOf(content: string): string[][] {
  return [...content.matchAll(replacingPhrases)]
    .map((m) =>
      tokensOf(content.slice(m.index + m[0].length).split(/[,;:()]|\.(?!\d)/)[0] ?? '')
        // A value counts: "60 minutes rather than 5" replaces a 5, which an older "15 minutes" does not say.
        .filter((w) => isContentWord(w) || isValue(w))
        .slice(0, REVISED_REACH)
        .map((w) => stemmer(w)),
    )
    .filter((words) => words.length > 0);
}

/** Where a value a decision replaces is named: "150 ms, not 200", "from 100 ms to 66 ms". */
const replacedValuePhrases = new RegExp(
  `${replacingPhrases.source}|\\bfrom\\s+(?=[^,;:]*\\bto\\b)|(?:\\(\\s*was|\\bpreviously|\\bformerly|\\b(?:up|down) from)\\s+`,
  'gi',
);

/**
 * Each value named right after a replacing phrase, with its unit: the word after it ("not 200 ms"), else
 * the unit of the value the sentence gives just before the phrase ("150 ms, not 200").
 */
function replacedValuesOf(content: string): ReplacedValue[] {
  return [...content.matchAll(replacedValuePhrases)].flatMap((m) => {
    const [value, after] = tokensOf(content.slice(m.index + m[0].length));
    if (value === undefined || !isValue(value)) return [];
    const before = tokensOf(content.slice(0, m.index));
    const last = before.map(isValue).lastIndexOf(true);
    const unit = after !== undefined && isAnchor(after) ? after : last >= 0 ? before[last + 1] : undefined;
    return unit !== undefined && isAnchor(unit) ? [{ value, unit: stemmer(unit) }] : [];
  });
}

/** Words saying something did not work, in a clause of its own. */
const faultWords =
  /\b(too (?:much|many|slow|risky|expensive|costly|complex|fragile|late)|expensive|costly|lagg?(?:s|ed|ing)?|slow(?:s|ed)?|time[sd]? out|fail(?:s|ed)?|drain(?:s|ed)|overload(?:s|ed)|exhaust(?:s|ed)|stall(?:s|ed)|poor|throttl\w*|crash\w*|broke\w*|breaks|flaky|unreliable|risky|leak\w*|maintenance mode|end of life|deprecated)\b/i;

/** Stems of the content words of every clause after the first that says something failed. */
function faultedWordsOf(content: string): string[] {
  const clauses = content.split(/;|:|—|\s-\s|\bbecause\b|\bsince\b/i).slice(1);
  return clauses
    .filter((c) => faultWords.test(c))
    .flatMap((c) =>
      tokensOf(c)
        .filter(isContentWord)
        .map((w) => stemmer(w)),
    );
}

/** How many content words after "for" say what a choice is for. */
const PURPOSE_WORDS = 3;

/** Words after "for" that give a duration, not a purpose: "for an hour", "for now". */
const durationWords = new Set(
  'second seconds minute minutes hour hours day days week weeks month months year years while now good ever'.split(' '),
);

/**
 * The stems of the content words after its first "for", to the end of that clause, numbers and units
 * left out; none when "for" gives a duration ("retried … for an hour", "kept for 30 days").
 */
function purposeOf(content: string): string[] {
  const after = /\bfor\s+(.*)/i.exec(content)?.[1] ?? '';
  const tokens = tokensOf(after.split(/[,;:()]|\.(?!\d)/)[0] ?? '');
  if (durationWords.has(tokens.find((w) => isContentWord(w) || isValue(w)) ?? '')) return [];
  return tokens
    .filter((w, i) => isContentWord(w) && !isValue(tokens[i - 1] ?? ''))
    .slice(0, PURPOSE_WORDS)
    .map((w) => stemmer(w));
}

/**
 * Two choices for different purposes: each says what it is for, and the newer names nothing of the
 * older's ("Do not use Redis for the job queue" after "Use Redis for the session cache").
 */
export const forAnotherPurpose = (older: DecisionSide, newer: DecisionSide): boolean =>
  older.traits.purpose.length > 0 &&
  newer.traits.purpose.length > 0 &&
  !older.traits.purpose.some((w) => newer.terms.has(`s:${w}`));

/** Where a clause ends: the words after a negation, or before a ban, stop there. */
const clauseBreak = /[,;:()]|\.(?!\d)|\s[—–-]\s/;

const negations = /\b(?:no|not|never|without)\b/gi;
/** Words that may follow a negation before what it denies: "no extra replicas" denies the replicas. */
const negatedQuantity = new Set(['extra', 'more', 'additional', 'further', 'separate', 'new', 'any']);
/** How many words after a negation must be the older decision's for the newer to deny it. */
const NEGATED_WORDS = 2;
/** How many words of a denied clause may be others than the older decision's: "no extra replicas for drains". */
const OTHER_DENIED_WORDS = 1;

/** "Don't", "won't", "can't" as "do not", "will not", "can not": a negation like any other. */
const expandContractions = (content: string): string =>
  content.replace(
    /\b(\w+)n't\b/gi,
    (_, verb: string) => `${({ wo: 'will', ca: 'can' } as Record<string, string>)[verb.toLowerCase()] ?? verb} not`,
  );

/**
 * Per negation, the stems of the content words of the rest of its clause, filler verbs ("use") and a
 * leading quantity ("no extra …") left out.
 */
function deniedClausesOf(content: string): string[][] {
  return [...content.matchAll(negations)].map((m) => {
    const words = tokensOf(content.slice(m.index + m[0].length).split(clauseBreak)[0] ?? '').filter(
      (w) => isContentWord(w) && !genericHeads.has(w),
    );
    return (negatedQuantity.has(words[0] ?? '') ? words.slice(1) : words).map((w) => stemmer(w));
  });
}

/**
 * The newer decision denies the older one's words: the first words of its negated clause are the
 * older's, and at most one other word ("…, no release branches" after "… on long-lived release
 * branches"; not "Do not compress images that are already WebP", an exception, after "Compress images
 * with sharp at upload").
 */
const deniesWords = (denied: string[], has: (stem: string) => boolean): boolean =>
  denied.length >= NEGATED_WORDS &&
  denied.slice(0, NEGATED_WORDS).every(has) &&
  denied.filter((w) => !has(w)).length <= OTHER_DENIED_WORDS;

/**
 * The newer decision is an exception to a rule for every item of a kind: it names some of the items
 * (see `qualifies`) — "Don't run the full suite on draft pull requests" after "Run the full test suite
 * on every pull request", "The billing service does not log to stdout" after "All services log to
 * stdout" — and so says nothing of the others.
 */
export const isException = (older: DecisionSide, newer: DecisionSide): boolean =>
  older.traits.quantified.some((items) => qualifies(items, older.traits, newer.traits));

/**
 * The newer decision names an item a rule for every item covers ("every pull request", "all services
 * log …") with a word of its own right before it ("draft pull requests", "the billing service"): a
 * content word not in the older decision, singular, as a noun naming a kind of thing is ("asset
 * buckets"; not the verb of "… gates releases"), and not after a negation ("no longer log").
 */
function qualifies(items: string[], older: DecisionTraits, newer: DecisionTraits): boolean {
  const olderStems = new Set(older.stems);
  return newer.stems.some((stem, j) => {
    const [before, word] = [newer.stems[j - 1], newer.words[j - 1]];
    return (
      items.includes(stem) &&
      before !== undefined &&
      isContentWord(word!) &&
      !olderStems.has(before) &&
      !quantifiers.has(word!) &&
      !/[^s]s$/.test(word!) &&
      !/^(?:no|not|never)$/.test(newer.words[j - 2] ?? '')
    );
  });
}

/**
 * The newer decision says what happens once the older one's limit is reached — at the older's value
 * ("After 5 failures, webhooks stop retrying …" after "Retry failed webhooks 5 times …") or once what
 * the older allowed is used up ("Once retries are exhausted, …") — and changes no value: its "stop" or
 * "go to" ends what the older one allowed at its own limit, which revises nothing.
 */
const continuesOlder = (older: DecisionSide, { traits: newer }: DecisionSide): boolean => {
  const olderValues = new Set([...older.traits.values.values()].flatMap((values) => [...values]));
  const newerValues = [...newer.values.values()].flatMap((values) => [...values]);
  // At the point the older one names itself ("deleted after 30 days" → "After 30 days, … instead") it
  // says what happens then: a revision if it says so.
  if (newer.thresholds.some((v) => older.traits.thresholds.includes(v))) return false;
  const atLimit = newer.thresholds.length > 0 || newer.usedUp.some((w) => older.terms.has(`s:${w}`));
  return (
    atLimit &&
    newer.replacedValues.length === 0 &&
    [...newer.thresholds, ...newerValues].every((v) => olderValues.has(v))
  );
};

/**
 * Another decision on the older one's subject, however many of its words it repeats: an exception to
 * its rule (`isException`) or what happens once its limit is reached (`continuesOlder`).
 */
export const qualifiesOlder = (older: DecisionSide, newer: DecisionSide): boolean =>
  isException(older, newer) || continuesOlder(older, newer);

/** How many words a denied clause may have to deny the older decision's opening. */
const OPENING_WORDS = 4;

/**
 * The newer decision denies what the older one opens with: its negated clause starts with the older's
 * topic word and names nothing else ("Do not stay on kafkajs, …" after "Stay on kafkajs 2.2.4 and use
 * eachBatch …"; not "Do not cache pages for logged-in users" after "Cache product pages for 10 minutes").
 */
const deniesOpening = (older: DecisionTraits, denied: string[], has: (stem: string) => boolean): boolean =>
  denied.length >= 2 && denied.length <= OPENING_WORDS && denied[0] === older.head && denied.every(has);

/** Words around a denial or ban that name nothing: "we do not touch BGP ourselves", "snippets stay forbidden". */
const denialFillers = new Set(
  'ourselves themselves itself yourselves anymore either stay stays remain remains still'.split(' '),
);

/**
 * Per negation whose object is a name — "We will not buy Fivetran (…)", "We do not touch BGP
 * ourselves: …" — the stems of the words it denies: the clause's content words after the negation,
 * its verb (the first, lower-case word) left out, when at most three are left and one of them is
 * written as a name (a capital inside the sentence). Lower-case words deny no choice ("We do not store
 * card numbers" does not revise how cards are tokenised), and a name with more after it ("not use Redis
 * for the job queue") denies a use, not the name.
 */
function deniedNamesOf(content: string): DeniedName[] {
  return [...content.matchAll(negations)].flatMap((m) => {
    const [clause = '', ...rest] = content.slice(m.index + m[0].length).split(clauseBreak);
    const words = (clause.match(/[\p{L}\d][\p{L}\d.-]*/gu) ?? []).filter(
      (w) => isContentWord(w.toLowerCase()) && !denialFillers.has(w.toLowerCase()),
    );
    const denied = words[0] && !/\p{Lu}/u.test(words[0]) ? words.slice(1) : words;
    const named = denied.length > 0 && denied.length <= 3 && denied.some((w) => /\p{Lu}/u.test(w));
    if (!named) return [];
    const instead = tokensOf(rest.join(' ')).filter(isContentWord);
    return [{ words: denied.map((w) => stemmer(w.toLowerCase())), instead: instead.map((w) => stemmer(w)) }];
  });
}

/** A name a decision denies, and the stems of the words after that clause: what it does instead. */
interface DeniedName {
  words: string[];
  instead: string[];
}

/**
 * A denial by name reverses the older decision when the name is the older's and the rest of the
 * sentence says what is done instead about the older's subject (another of its words): "We will not buy
 * Fivetran (…); the ads and CRM loads stay our own code" after "The ad spend and CRM loads move to
 * Fivetran", not "We do not expose Elasticsearch; it sits behind the API gateway" after "Search results
 * are served by Elasticsearch".
 */
const deniesByName = ({ words, instead }: DeniedName, has: (stem: string) => boolean): boolean =>
  words.every(has) && instead.some((w) => has(w) && !words.includes(w));

/** A ban on what stands before it: "Custom nginx snippets stay forbidden", "… is not allowed". */
const banWords = /\b(?:forbidden|banned|prohibited|disallowed|not (?:allowed|permitted)|off[- ]limits)\b/gi;

/** Per ban, the stems of the content words before it in its clause. */
function forbiddenOf(content: string): string[][] {
  return [...content.matchAll(banWords)].map((m) => {
    const clause = content.slice(0, m.index).split(clauseBreak).at(-1) ?? '';
    return tokensOf(clause)
      .filter((w) => isContentWord(w) && !denialFillers.has(w))
      .map((w) => stemmer(w));
  });
}

/**
 * A ban denies the older decision when what it bans is the older's: at least two of its words, its
 * last (what is banned, "snippets") among them, and at most one other ("custom"): "Write access to the
 * production cluster" is not the "read access to the staging cluster" an older decision gave.
 */
const bansOlder = (banned: string[], has: (stem: string) => boolean): boolean => {
  const hits = banned.filter(has).length;
  return hits >= 2 && banned.length - hits <= 1 && has(banned.at(-1)!);
};

/** Words that make a rule about every item of a kind ("on every pull request"). */
const quantifiers = new Set(['every', 'all', 'each']);

/** A value right after "after", "once", "beyond" or "past": when something happens, not a setting. */
const thresholdPhrases = /\b(?:after|once|beyond|past)\s+/gi;

/** A clause saying something ran out: "once retries are exhausted", "when the quota is used up". */
const usedUpClause = /^\s*(?:once|after|when)\b.*\b(?:exhausted|used up|run(?:s)? out|ran out|spent)\b/i;

/** The stems of the content words of the first clause that says something ran out. */
function usedUpOf(content: string): string[] {
  const clause = content.split(clauseBreak).find((c) => usedUpClause.test(c)) ?? '';
  return tokensOf(clause)
    .filter(isContentWord)
    .map((w) => stemmer(w));
}

/** The values it says something happens at (see `thresholdPhrases`). */
function thresholdsOf(content: string): string[] {
  return [...content.matchAll(thresholdPhrases)].flatMap((m) => {
    const [value] = tokensOf(content.slice(m.index + m[0].length));
    return value !== undefined && isValue(value) ? [value] : [];
  });
}

/**
 * Per quantifier, the stems of the content words and values right after it ("all S3 buckets" → s3,
 * bucket); none when a number follows it, which gives a frequency ("every 10 minutes").
 */
function quantifiedOf(tokens: string[]): string[][] {
  return tokens.flatMap((token, i) => {
    const next = tokens[i + 1] ?? '';
    if (!quantifiers.has(token) || /^[\d.]+$/.test(next) || numberWords.has(next)) return [];
    const after = tokens.slice(i + 1);
    const end = after.findIndex((t) => !isContentWord(t) && !isValue(t));
    const items = after.slice(0, end === -1 ? after.length : end);
    return items.length > 0 ? [items.map((t) => (isContentWord(t) ? stemmer(t) : t))] : [];
  });
}

/**
 * Per content word, as stems, the content word right after its first use in its clause; none when
 * something else follows that first use ("Add synonyms at index time, … synonym token filter": none).
 */
function nextWordsOf(content: string): Map<string, string> {
  const next = new Map<string, string>();
  const seen = new Set<string>();
  for (const clause of content.split(/[,.;:!?()\u2013\u2014]+/)) {
    const tokens = tokensOf(clause);
    for (const [i, word] of tokens.entries()) {
      const stem = stemmer(word);
      if (!isContentWord(word) || seen.has(stem)) continue;
      seen.add(stem);
      const after = tokens[i + 1];
      if (after !== undefined && isContentWord(after)) next.set(stem, stemmer(after));
    }
  }
  return next;
}

export function traitsOf(text: string): DecisionTraits {
  const content = expandContractions(text);
  const tokens = tokensOf(content);
  const revisedWords = revisedWordsOf(content);
  const head = tokens.find(isAnchor);
  return {
    head: head === undefined ? undefined : stemmer(head),
    values: valuesOf(tokens),
    valueSides: valueSidesOf(tokens),
    revises: content.search(revisionWords) >= 0,
    revisedWords,
    replaced: replacedWordsOf(content),
    weaklyRevises: /\bnow\b/i.test(content),
    givesReason: reasonWords.test(content),
    faultedWords: faultedWordsOf(content),
    adds: additiveWords.test(content),
    purpose: purposeOf(content),
    deniedNames: deniedNamesOf(content),
    forbidden: forbiddenOf(content),
    deniedClauses: deniedClausesOf(content),
    replacedValues: replacedValuesOf(content),
    thresholds: thresholdsOf(content),
    usedUp: usedUpOf(content),
    quantified: quantifiedOf(tokens),
    stems: tokens.map((t) => (isContentWord(t) ? stemmer(t) : t)),
    words: tokens,
    nextWords: nextWordsOf(content),
  };
}

/** `newer` gives a value for an anchor `older` also has a value for, one `older` did not give. */
export function changesValue(older: DecisionTraits, newer: DecisionTraits): boolean {
  for (const [anchor, values] of newer.values) {
    const before = older.values.get(anchor);
    if (before && [...values].some((v) => !before.has(v)) && !labelAndCount(older, newer, anchor)) return true;
  }
  return false;
}

/**
 * The newer decision repeats a phrase of the older with its middle word swapped for one the older does
 * not use ("synonyms at index time" → "synonyms at query time", "rendered on the client" → "on the
 * server"): the words on each side the same, one of them a content word, the swapped words content words.
 */
export function swapsWord(older: DecisionTraits, newer: DecisionTraits): boolean {
  const [x, y] = [older.stems, newer.stems];
  const used = new Set(x);
  for (let j = 1; j < y.length - 1; j++) {
    const [before, word, after] = [y[j - 1]!, y[j]!, y[j + 1]!];
    if (used.has(word) || !isContentWord(word) || !(isContentWord(before) || isContentWord(after))) continue;
    for (let i = 1; i < x.length - 1; i++)
      if (x[i - 1] === before && x[i + 1] === after && isContentWord(x[i]!)) return true;
  }
  return false;
}

/**
 * Whose value the newer decision says it replaces: the older's ("… is 150 ms, not 200" after "… capped
 * at 200 ms", whatever either calls the thing), another's (every value it replaces is one the older
 * does not give for that unit: "goes from 100 ms to 66 ms" after "… capped at 200 ms"), or it names none.
 */
function whoseReplacedValue(older: DecisionTraits, newer: DecisionTraits): 'older' | 'other' | undefined {
  const given = ({ value, unit }: ReplacedValue): boolean | undefined => older.values.get(unit)?.has(value);
  if (givesReplacedValue(older, newer)) return 'older';
  if (newer.replacedValues.length > 0 && newer.replacedValues.every((v) => given(v) === false)) return 'other';
  return undefined;
}

/** The older decision gives a value the newer says it replaces, for that unit ("25 MB" for "10 MB, not 25"). */
export const givesReplacedValue = (older: DecisionTraits, newer: DecisionTraits): boolean =>
  newer.replacedValues.some(({ value, unit }) => older.values.get(unit)?.has(value) === true);

/** What one decision of a pair brings to the comparison. */
export interface DecisionSide {
  terms: Terms;
  traits: DecisionTraits;
}

/** How the two decisions are related, as `findRedundant` measured it. */
export interface DecisionPair {
  older: DecisionSide;
  newer: DecisionSide;
  /** Cosine of their weighted terms. */
  similarity: number;
  /** The share of the older one's subject the newer one names (see `subjectShare` in select.ts). */
  oldInNew: number;
  /** The same agent in the same session wrote both. */
  sameAgent: boolean;
  /** The newer one comes from another phase than the older (a later one: it is newer). */
  laterPhase: boolean;
}

/** The knobs `revises` reads (see `SelectionTuning`). */
export interface RevisionTuning {
  conflictSimilarity: number;
  revisedSimilarity: number;
}

/** How much each kind of evidence adds to the subject overlap (0–1) before it is held against `conflictSimilarity`. */
export const revisionEvidence = {
  /** A revision word, when the two decisions' topics are linked. */
  revisionWord: 0.35,
  /** The words right after the revision word are the older decision's ("instead of winston"). */
  namesReplaced: 0.1,
  /** "now" alone, when their topics are linked. */
  weakRevisionWord: 0.15,
  changedValue: 0.2,
  reason: 0.15,
  laterPhase: 0.1,
  /** Subtracted: "too", "also". */
  additive: 0.2,
};

/**
 * Whether `a`'s topic word is named by `b` as the same thing: not when each has it as the first word
 * of another compound ("feature flags" / "feature branches"), neither naming the other's second word.
 */
function namesTopicOf(a: DecisionSide, b: DecisionSide): boolean {
  const head = a.traits.head;
  if (head === undefined || !b.terms.has(`s:${head}`)) return false;
  const [inA, inB] = [a.traits.nextWords.get(head), b.traits.nextWords.get(head)];
  return inA === undefined || inB === undefined || inA === inB || b.terms.has(`s:${inA}`) || a.terms.has(`s:${inB}`);
}

/** Two decisions are about one thing only if one's topic word is named by the other (see `linked`). */
export const sameTopic = (a: DecisionSide, b: DecisionSide): boolean => namesTopicOf(a, b) || namesTopicOf(b, a);

/**
 * The revision is about the older decision: one's topic word is named by the other ("Idle timeout
 * raised …" after "… 20 minutes idle"), or the newer names a word of the older right after its
 * revision word ("… instead of winston").
 */
const linked = ({ older, newer }: DecisionPair): boolean =>
  sameTopic(older, newer) || newer.traits.revisedWords.some((w) => older.terms.has(`s:${w}`));

/**
 * How strongly the newer decision revises the older: 0 when it does not, else at least
 * `conflictSimilarity`. One agent's own similar decisions are about different things unless it says
 * it revised one. Between agents, a revision word on linked topics that are similar enough suffices;
 * otherwise the overlap of subject plus the other evidence must reach `conflictSimilarity`.
 */
export function revisionStrength(pair: DecisionPair, tuning: RevisionTuning): number {
  const { older, newer, similarity } = pair;
  // "Deploy the legacy billing service with plain manifests instead of Helm" after "Deploy every
  // service with Helm": an exception is about the items it names, and revises nothing of the rule.
  if (isException(older, newer)) return 0;
  const has = (w: string): boolean => older.terms.has(`s:${w}`);
  // "…; streaming replication lagged too far behind": it says the older decision's way failed.
  const faultsOlder = newer.traits.faultedWords.some(has);
  // "…, no release branches" after "… on long-lived release branches": it denies what the older said.
  // "We will not buy Fivetran" after "… move to Fivetran connectors"; "X stay forbidden" after "X … turned back on".
  // It denies the older's named choice, or bans what the older allowed: it says exactly what it reverses.
  const reversesOlder =
    newer.traits.deniedNames.some((denied) => deniesByName(denied, has)) ||
    newer.traits.forbidden.some((words) => bansOlder(words, has));
  // "Do not stay on kafkajs, …" after "Stay on kafkajs 2.2.4 and …": it denies what the older one says.
  const deniesItsOpening = newer.traits.deniedClauses.some((denied) => deniesOpening(older.traits, denied, has));
  const deniesOlder = newer.traits.deniedClauses.some((words) => deniesWords(words, has)) || reversesOlder;
  const sequel = continuesOlder(older, newer);
  const replacedValue = whoseReplacedValue(older.traits, newer.traits);
  const namesOlderValue = replacedValue === 'older';
  // "…, not serial integers" after "… stored as integer cents": it names what it replaces, and that is
  // mostly not what the older decided, so its revision word is about something else.
  const replacesOther =
    newer.traits.replaced.length > 0 &&
    newer.traits.replaced.every((words) => words.filter(has).length * 2 < words.length + 1);
  const saysSo =
    (newer.traits.revises && (linked(pair) || namesOlderValue) && !replacesOther && replacedValue !== 'other') ||
    faultsOlder ||
    deniesOlder;
  // "… instead of weekly" after "… retrained weekly": it names what it replaces.
  const namesOlder = newer.traits.revisedWords.some(has);
  // One result rarely revises itself: only when it says so of a similar decision ("…, instead of a random split").
  if (pair.sameAgent) return newer.traits.revises && linked(pair) && similarity >= tuning.revisedSimilarity ? 1 : 0;
  // What happens once the older one's limit is reached revises it only when it denies it or says it failed.
  if (sequel && !faultsOlder && !deniesOlder) return 0;
  // It changes a value the older one does not give for that unit: it revises another decision.
  if (replacedValue === 'other' && !faultsOlder && !deniesOlder) return 0;
  const e = revisionEvidence;
  const evidence =
    pair.oldInNew +
    (saysSo ? e.revisionWord : newer.traits.weaklyRevises && linked(pair) ? e.weakRevisionWord : 0) +
    (namesOlder || deniesOlder ? e.namesReplaced : 0) +
    ((changesValue(older.traits, newer.traits) || swapsWord(older.traits, newer.traits)) && sameTopic(older, newer)
      ? e.changedValue
      : 0) +
    (newer.traits.givesReason || faultsOlder ? e.reason : 0) +
    (pair.laterPhase ? e.laterPhase : 0) -
    (newer.traits.adds ? e.additive : 0);
  // "… daily instead of weekly" after "… retrained weekly": what it replaces is what the older decided.
  const replacesOlder = newer.traits.replaced.some((words) => words.filter(has).length * 4 >= words.length * 3);
  const closeEnough =
    similarity >= tuning.revisedSimilarity ||
    ((replacesOlder || reversesOlder) && pair.oldInNew >= tuning.revisedSimilarity) ||
    deniesItsOpening ||
    namesOlderValue;
  if (saysSo && closeEnough) return Math.max(evidence, tuning.conflictSimilarity);
  return evidence >= tuning.conflictSimilarity ? evidence : 0;
}

/**
 * A revision replaces the decisions it matches best: of the older decisions it revises, those whose
 * strength falls this far below the strongest are left standing ("Evaluate feature flags in the
 * browser after all" revises where flags are evaluated, not which service serves them).
 */
export const REVISION_MARGIN = 0.3;
