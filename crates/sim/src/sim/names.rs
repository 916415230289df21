//! Names for the synthetic world: syllable-built people, places, countries, organisations and works
//! (with some non-ASCII letters and CJK place names), ASCII folding, URL slugs, and a registry that
//! keeps every name unique.
use std::collections::BTreeSet;

use super::rng::Rng;

const ONSETS: &[&str] = &[
    "b", "br", "c", "d", "dr", "f", "g", "gr", "h", "k", "kl", "l", "m", "n", "p", "r", "s", "st", "t", "th", "v", "w",
    "z", "j", "sh", "",
];
const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ai", "ei", "ou", "ia", "y"];
const ACCENTED: &[&str] = &["é", "ü", "ø", "å", "ö", "á", "è", "ñ", "ï", "ô"];
const CODAS: &[&str] = &["", "", "", "n", "r", "l", "s", "m", "k", "nd", "rt", "st", "x", "th"];
const FIRST_EXTRA: &[&str] =
    &["Zoë", "Renée", "Jürgen", "Søren", "Iñigo", "Chloé", "Björn", "Mária", "José", "Françoise", "Łucja", "Åsa"];
const PLACE_SUFFIX: &[&str] =
    &["ton", "burg", "vik", "stad", "mouth", "field", "dal", "haven", "ford", "grad", "ville", "heim"];
const COUNTRY_SUFFIX: &[&str] = &["ia", "land", "mark", "stan", "ora", "avia"];
const CJK: &[(&str, &str)] = &[
    ("北", "Bei"),
    ("南", "Nan"),
    ("東", "Dong"),
    ("西", "Xi"),
    ("山", "shan"),
    ("川", "chuan"),
    ("海", "hai"),
    ("青", "Qing"),
    ("白", "Bai"),
    ("松", "Song"),
    ("林", "lin"),
    ("港", "gang"),
    ("江", "jiang"),
    ("田", "tian"),
    ("石", "Shi"),
    ("宮", "gong"),
    ("金", "Jin"),
    ("原", "yuan"),
];
const ORG_SUFFIX: &[(&str, &str)] = &[
    ("Instruments", "electronics"),
    ("Press", "publishing"),
    ("Laboratories", "research"),
    ("Shipping", "shipping"),
    ("Bank", "banking"),
    ("Records", "music"),
    ("Studios", "film"),
    ("Institute", "research"),
    ("Motorenwerke", "engineering"),
    ("Textiles", "textiles"),
    ("Mining Company", "mining"),
    ("Telegraph", "telecommunications"),
    ("Brewery", "brewing"),
    ("Café Company", "hospitality"),
    ("Société Générale", "banking"),
];
const ADJECTIVES: &[&str] = &[
    "Silent",
    "Crimson",
    "Hollow",
    "Distant",
    "Last",
    "Golden",
    "Broken",
    "Northern",
    "Quiet",
    "Hidden",
    "Burning",
    "Frozen",
    "Seventh",
    "Paper",
    "Iron",
    "Wandering",
    "Bitter",
    "Pale",
    "Velvet",
    "Amber",
    "Restless",
    "Sunken",
    "Endless",
    "Scarlet",
    "Hungry",
    "Gentle",
    "Wild",
    "Drowned",
    "Painted",
    "Forgotten",
    "Electric",
    "Lonely",
    "Violet",
    "Secret",
    "Thirteenth",
    "Fragile",
];
const NOUNS: &[&str] = &[
    "River",
    "Garden",
    "Lantern",
    "Harbour",
    "Orchard",
    "Mirror",
    "Winter",
    "Bridge",
    "Tower",
    "Meadow",
    "Compass",
    "Café",
    "Château",
    "Señorita",
    "Fjord",
    "Pavilion",
    "Carousel",
    "Symphony",
    "Machine",
    "Tide",
    "Lighthouse",
    "Procession",
    "Mañana",
    "Über-Mensch",
    "Falcon",
    "Glacier",
    "Cathedral",
    "Labyrinth",
    "Almanac",
    "Nocturne",
    "Caravan",
    "Monsoon",
    "Quarry",
    "Telescope",
    "Carnival",
    "Sparrow",
    "Furnace",
    "Pilgrim",
    "Serenade",
    "Kingdom",
    "Staircase",
    "Ballad",
    "Øresund",
    "Königin",
    "Piñata",
    "Fête",
    "Doppelgänger",
    "Atelier",
];

/// Folds common Latin diacritics to ASCII ("Zoë Østergaard" → "Zoe Ostergaard"); other
/// characters (CJK included) pass through unchanged.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match fold_char(c) {
            Some(r) => out.push_str(r),
            None => out.push(c),
        }
    }
    out
}

fn fold_char(c: char) -> Option<&'static str> {
    Some(match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => "a",
        'Á' | 'À' | 'Â' | 'Ä' | 'Ã' | 'Å' => "A",
        'é' | 'è' | 'ê' | 'ë' => "e",
        'É' | 'È' | 'Ê' | 'Ë' => "E",
        'í' | 'ì' | 'î' | 'ï' => "i",
        'Í' | 'Ì' | 'Î' | 'Ï' => "I",
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' => "o",
        'Ó' | 'Ò' | 'Ô' | 'Ö' | 'Õ' | 'Ø' => "O",
        'ú' | 'ù' | 'û' | 'ü' => "u",
        'Ú' | 'Ù' | 'Û' | 'Ü' => "U",
        'ñ' => "n",
        'Ñ' => "N",
        'ç' => "c",
        'Ç' => "C",
        'ł' => "l",
        'Ł' => "L",
        'ß' => "ss",
        'æ' => "ae",
        'Æ' => "AE",
        _ => return None,
    })
}

/// A URL-safe ASCII slug: folded, lowercased, runs of anything else turned into one `-`.
/// Empty when nothing ASCII-alphanumeric remains.
pub fn slugify(s: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    for c in fold(s).chars() {
        if c.is_ascii_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        } else {
            dash = true;
        }
    }
    out
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Words a syllable-built name part must not be (they occur in page prose and would blur search).
const COMMON: &[&str] = &[
    "the", "and", "was", "for", "his", "her", "its", "are", "but", "not", "you", "all", "any", "can", "had", "has",
    "one", "our", "out", "use", "who", "how", "new", "now", "old", "see", "two", "way", "did", "get", "let", "put",
    "say", "she", "too", "born", "town", "from", "work", "year", "with", "this", "that", "page", "many", "some",
    "also", "list", "more", "home", "main", "them", "they", "then", "than", "were", "been", "into", "here", "only",
    "most", "held", "lit", "art", "end", "sit", "amet", "about", "site", "type", "film", "novel", "opera", "album",
    "there", "while",
];

/// A capitalised name part of `n` syllables, at least three letters and not a common word.
fn proper(rng: &mut Rng, n: usize) -> String {
    let mut w = syllables(rng, n);
    for _ in 0..16 {
        let folded = fold(&w);
        if folded.len() >= 3 && !COMMON.contains(&folded.as_str()) {
            break;
        }
        w = syllables(rng, n + 1);
    }
    capitalise(&w)
}

/// A pronounceable lowercase word of `n` syllables; about one in twelve syllables is accented.
fn syllables(rng: &mut Rng, n: usize) -> String {
    let mut w = String::new();
    for _ in 0..n {
        w.push_str(rng.word(ONSETS));
        let v = if rng.chance(0.08) { rng.word(ACCENTED) } else { rng.word(VOWELS) };
        w.push_str(v);
        w.push_str(rng.word(CODAS));
    }
    w
}

/// A name with an optional ASCII romanisation (for CJK names, which slugs cannot spell).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub text: String,
    pub roman: Option<String>,
}

impl Name {
    fn plain(text: String) -> Name {
        Name { text, roman: None }
    }
}

/// Makes names of each kind; [`NameGen::unique`] rejects any name whose folded, lowercased form
/// (or romanisation) was handed out before, so no two things in a world share a name.
pub struct NameGen {
    rng: Rng,
    taken: BTreeSet<String>,
}

impl NameGen {
    pub fn new(rng: Rng) -> NameGen {
        NameGen { rng, taken: BTreeSet::new() }
    }

    /// Draws names from `make` until one is unused; after 64 misses, disambiguates with a number.
    fn unique(&mut self, make: fn(&mut Rng) -> Name) -> Name {
        let mut last = make(&mut self.rng);
        for attempt in 0..64u32 {
            if attempt > 0 {
                last = make(&mut self.rng);
            }
            if self.claim(&last) {
                return last;
            }
        }
        for n in 2u64.. {
            let text = format!("{} {}", last.text, n);
            let roman = last.roman.as_ref().map(|r| format!("{r} {n}"));
            let candidate = Name { text, roman };
            if self.claim(&candidate) {
                return candidate;
            }
        }
        last
    }

    fn claim(&mut self, name: &Name) -> bool {
        let key = fold(&name.text).to_lowercase();
        let rkey = name.roman.as_ref().map(|r| fold(r).to_lowercase());
        let short = key.len() < 3;
        if short || self.taken.contains(&key) || rkey.as_ref().is_some_and(|r| self.taken.contains(r)) {
            return false;
        }
        self.taken.insert(key);
        if let Some(r) = rkey {
            self.taken.insert(r);
        }
        true
    }

    pub fn person(&mut self) -> Name {
        self.unique(|r| {
            let first = if r.chance(0.15) {
                r.word(FIRST_EXTRA).to_string()
            } else {
                let n = 1 + r.below(2);
                proper(r, n)
            };
            let n = 2 + r.below(2);
            Name::plain(format!("{first} {}", proper(r, n)))
        })
    }

    pub fn place(&mut self) -> Name {
        self.unique(|r| {
            if r.chance(0.15) {
                let (a, ra) = *r.pick(CJK).unwrap_or(&("北", "Bei"));
                let (b, rb) = *r.pick(CJK).unwrap_or(&("山", "shan"));
                let roman = capitalise(&format!("{}{}", ra.to_lowercase(), rb.to_lowercase()));
                return Name { text: format!("{a}{b}"), roman: Some(roman) };
            }
            let n = 1 + r.below(2);
            Name::plain(capitalise(&format!("{}{}", syllables(r, n), r.word(PLACE_SUFFIX))))
        })
    }

    pub fn country(&mut self) -> Name {
        self.unique(|r| {
            let n = 1 + r.below(2);
            Name::plain(capitalise(&format!("{}{}", syllables(r, n), r.word(COUNTRY_SUFFIX))))
        })
    }

    /// An organisation's name and its industry.
    pub fn organisation(&mut self) -> (Name, &'static str) {
        let name = self.unique(|r| {
            let idx = r.below(ORG_SUFFIX.len());
            let n = 1 + r.below(2);
            Name::plain(format!("{} {}", proper(r, n), ORG_SUFFIX[idx].0))
        });
        let industry =
            ORG_SUFFIX.iter().find(|(suffix, _)| name.text.contains(suffix)).map_or("trade", |(_, ind)| *ind);
        (name, industry)
    }

    pub fn work(&mut self) -> Name {
        self.unique(|r| {
            let text = match r.below(4) {
                0 => format!("The {} {}", r.word(ADJECTIVES), r.word(NOUNS)),
                1 => format!("{} of {}", r.word(NOUNS), proper(r, 2)),
                2 => format!("The {} of the {}", r.word(NOUNS), r.word(NOUNS)),
                _ => format!("{} {}", r.word(ADJECTIVES), r.word(NOUNS)),
            };
            Name::plain(text)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_and_slug() {
        assert_eq!(fold("Zoë Østergaard"), "Zoe Ostergaard");
        assert_eq!(slugify("Zoë  Østergaard!"), "zoe-ostergaard");
        assert_eq!(slugify("--Über-Mensch--"), "uber-mensch");
        assert_eq!(slugify("北山"), "");
        assert_eq!(slugify(""), "");
    }

    #[test]
    fn names_are_unique_even_when_the_space_runs_out() {
        let mut g = NameGen::new(Rng::new(3));
        let mut seen = BTreeSet::new();
        for _ in 0..3000 {
            let w = g.work();
            assert!(seen.insert(fold(&w.text).to_lowercase()), "duplicate {}", w.text);
        }
        let p = g.place();
        assert!(!p.text.is_empty());
    }
}
