"""kjv - the training corpus: the King James Bible from Debian's
bible-kjv-text package, split into a training part and a fixed held-out part,
and turned into the documents the model is trained and evaluated on.

The corpus is never committed.  `load()` runs the package's `bible` program
(installing the package with apt-get when it is missing) and checks that it
printed the 31,102 verses of the 66 books it should.

Documents (all start with BOS, the way ds-run's prompts do):
  * prose windows: consecutive verses of the training books, one verse per
    line, no references or verse numbers;
  * chat windows: conversations rendered through DeepSeek-V3's chat template,
    each turn a user asking for a verse about a word (or by its reference) and
    the assistant answering with a training verse that contains the word.
"""

import hashlib
import os
import random
import re
import shutil
import subprocess

# the bible program's book abbreviations, in canonical order, with the names
# the chat prompts use
BOOKS = [
    ("Ge", "Genesis"), ("Exo", "Exodus"), ("Lev", "Leviticus"), ("Num", "Numbers"),
    ("Deu", "Deuteronomy"), ("Josh", "Joshua"), ("Jdgs", "Judges"), ("Ruth", "Ruth"),
    ("1Sm", "1 Samuel"), ("2Sm", "2 Samuel"), ("1Ki", "1 Kings"), ("2Ki", "2 Kings"),
    ("1Chr", "1 Chronicles"), ("2Chr", "2 Chronicles"), ("Ezra", "Ezra"), ("Neh", "Nehemiah"),
    ("Est", "Esther"), ("Job", "Job"), ("Psa", "Psalms"), ("Prv", "Proverbs"),
    ("Eccl", "Ecclesiastes"), ("SSol", "Song of Solomon"), ("Isa", "Isaiah"), ("Jer", "Jeremiah"),
    ("Lam", "Lamentations"), ("Eze", "Ezekiel"), ("Dan", "Daniel"), ("Hos", "Hosea"),
    ("Joel", "Joel"), ("Amos", "Amos"), ("Obad", "Obadiah"), ("Jonah", "Jonah"),
    ("Mic", "Micah"), ("Nahum", "Nahum"), ("Hab", "Habakkuk"), ("Zep", "Zephaniah"),
    ("Hag", "Haggai"), ("Zec", "Zechariah"), ("Mal", "Malachi"), ("Mat", "Matthew"),
    ("Mark", "Mark"), ("Luke", "Luke"), ("John", "John"), ("Acts", "Acts"),
    ("Rom", "Romans"), ("1Cor", "1 Corinthians"), ("2Cor", "2 Corinthians"), ("Gal", "Galatians"),
    ("Eph", "Ephesians"), ("Phi", "Philippians"), ("Col", "Colossians"), ("1Th", "1 Thessalonians"),
    ("2Th", "2 Thessalonians"), ("1Tim", "1 Timothy"), ("2Tim", "2 Timothy"), ("Titus", "Titus"),
    ("Phmn", "Philemon"), ("Heb", "Hebrews"), ("Jas", "James"), ("1Pet", "1 Peter"),
    ("2Pet", "2 Peter"), ("1Jn", "1 John"), ("2Jn", "2 John"), ("3Jn", "3 John"),
    ("Jude", "Jude"), ("Rev", "Revelation"),
]
N_VERSES = 31102

# The held-out books: never seen by the tokenizer trainer or the model.  Four
# short books of four kinds (narrative, prophetic narrative, two epistles),
# 204 verses, about 0.7 % of the text.
HELD_OUT = ("Ruth", "Jonah", "Titus", "Jude")

BIBLE_CMD = ["bible", "-f", "Gen1:1-Rev22:21"]

LINE = re.compile(r"^([0-9]?[A-Za-z]+)([0-9]+):([0-9]+) (.*)$")


def install():
    """Install bible-kjv (the program) and bible-kjv-text (the data) when
    `bible` is missing, with apt-get as root and sudo otherwise."""
    if shutil.which("bible"):
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "bible-kjv", "bible-kjv-text"],
                   check=True, env=env)


def load(cache):
    """The verses as a list of dicts {book, name, chapter, verse, text}, in
    canonical order; the program's output is kept in `cache` (a file)."""
    if not os.path.exists(cache):
        install()
        env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}   # one verse a line
        out = subprocess.run(BIBLE_CMD, check=True, capture_output=True, env=env).stdout
        with open(cache + ".tmp", "wb") as f:
            f.write(out)
        os.replace(cache + ".tmp", cache)
    with open(cache, encoding="ascii") as f:
        raw = f.read()
    names = dict(BOOKS)
    verses = []
    for ln in raw.splitlines():
        m = LINE.match(ln)
        if not m:
            raise SystemExit(f"kjv: unexpected line from bible: {ln[:80]!r}")
        book, ch, vs, text = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
        if book not in names:
            raise SystemExit(f"kjv: unknown book abbreviation {book!r}")
        verses.append({"book": book, "name": names[book], "chapter": ch, "verse": vs,
                       "text": " ".join(text.split())})
    books = []
    for v in verses:
        if not books or books[-1] != v["book"]:
            books.append(v["book"])
    if len(verses) != N_VERSES or books != [b for b, _ in BOOKS]:
        raise SystemExit(f"kjv: bible printed {len(verses)} verses of {len(books)} books, "
                         f"want {N_VERSES} of {len(BOOKS)}")
    return verses, hashlib.sha256(raw.encode()).hexdigest()


def split(verses):
    """(training verses, held-out verses), by book."""
    held = [v for v in verses if v["name"] in HELD_OUT]
    train = [v for v in verses if v["name"] not in HELD_OUT]
    return train, held


def reference(v):
    return f"{v['name']} {v['chapter']}:{v['verse']}"


# ---------------------------------------------------------------------------
# chat examples

TOPIC_PROMPTS = [
    "Give me a verse about {w}.",
    "Quote a verse about {w}.",
    "What does the Bible say about {w}?",
    "Show me a verse that mentions {w}.",
    "Find a verse with the word {w}.",
]
REF_PROMPTS = [
    "What does {r} say?",
    "Read me {r}.",
    "Quote {r}.",
]
# words too common to be a topic
STOP = set("""
about above after again against also among and another any are because been before being
between both came come cometh could did does done down even every from have having he her
here him himself his into itself know made make many more most much must neither never
none nothing now only other ought our out over said saith same say shall she should some
such than that thee their them themselves then there therefore these they thine thing
things this those thou thus thy thyself till together under unto upon very was were what
when whence where wherefore whereof which while whither who whom whose why will with
within without would yea yet you your shalt hast hath doth didst wilt art went go goeth
gone came take took taken give gave given put let see saw seen behold also
""".split())


def topic_words(text):
    """Candidate topic words of a verse: lower-case words of 4+ letters that
    are not function words."""
    ws = re.findall(r"[a-z]+", text)
    return sorted({w for w in ws if len(w) >= 4 and w not in STOP and re.search(r"\b" + w + r"\b", text)})


def chat_turn(v, rng):
    """(user message, assistant message) for one verse."""
    ws = topic_words(v["text"])
    if ws and rng.random() < 0.8:
        q = rng.choice(TOPIC_PROMPTS).format(w=rng.choice(ws))
    else:
        q = rng.choice(REF_PROMPTS).format(r=reference(v))
    return q, v["text"]


def render_chat(turns, bos, eos):
    """DeepSeek-V3's chat template for user/assistant turns without a system
    message (what ds-tokenize --chat renders): BOS, then per turn
    <｜User｜>q<｜Assistant｜>a<｜end▁of▁sentence｜>."""
    return bos + "".join(f"<｜User｜>{q}<｜Assistant｜>{a}{eos}" for q, a in turns)


def prose_text(verses, i, n):
    """Verses i..i+n-1 as lines."""
    return "\n".join(v["text"] for v in verses[i:i + n]) + "\n"


def epoch_documents(train, n_tokens_of, T, chat_fraction, rng, bos, eos):
    """One epoch of training documents (text, BOS included): the training
    verses cut into runs that fill T tokens, starting at a random offset, in
    random order, plus chat conversations (about chat_fraction of the
    windows) built from random training verses.  n_tokens_of(verse) is an
    estimate used only to size the runs (the documents are tokenised whole
    and cut to T tokens afterwards)."""
    docs = []
    i = rng.randrange(16)
    while i < len(train):
        n, tot = 0, 1
        while i + n < len(train) and tot < T + 8:
            tot += n_tokens_of(train[i + n])
            n += 1
        docs.append(bos + prose_text(train, i, n))
        i += max(1, n - 1)      # the verse cut at the end starts the next run
    n_chat = int(len(docs) * chat_fraction / (1 - chat_fraction))
    for _ in range(n_chat):
        turns, tot = [], 1
        while tot < T + 8:
            v = train[rng.randrange(len(train))]
            q, a = chat_turn(v, rng)
            turns.append((q, a))
            tot += n_tokens_of(v) + len(q) // 4 + 3
        docs.append(render_chat(turns, bos, eos))
    rng.shuffle(docs)
    return docs
