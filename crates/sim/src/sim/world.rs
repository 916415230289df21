//! The synthetic world itself: [`WorldConfig`] (validated), the entities and their facts, and
//! [`World::generate`], which ties names, pages and questions together deterministically.
use std::collections::BTreeMap;

use serde::Serialize;

use super::names::NameGen;
use super::rng::Rng;
use super::{pages, questions, Question, SimIndex, Split};
use crate::error::{Error, Result};

/// The most entities a world may have (keeps generation time and memory bounded).
pub const MAX_ENTITIES: usize = 50_000;

/// How to build a world. Same config → byte-identical world.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorldConfig {
    /// PRNG seed; different seeds give different worlds.
    pub seed: u64,
    /// Number of entities (people, places, organisations, works together), 4 ..= [`MAX_ENTITIES`].
    pub entities: usize,
    /// Share of question subjects held out for the test split, in `[0, 1]`.
    pub test_fraction: f32,
}

impl Default for WorldConfig {
    fn default() -> Self {
        WorldConfig { seed: 0, entities: 300, test_fraction: 0.2 }
    }
}

impl WorldConfig {
    /// Checks every field; the error names the field and the allowed range.
    pub fn validate(&self) -> Result<()> {
        if self.entities < 4 || self.entities > MAX_ENTITIES {
            return Err(Error::Config(format!(
                "sim entities = {}: must be between 4 and {MAX_ENTITIES} (one of each kind at least)",
                self.entities
            )));
        }
        if !self.test_fraction.is_finite() || !(0.0..=1.0).contains(&self.test_fraction) {
            return Err(Error::Config(format!(
                "sim test_fraction = {}: must be a number between 0 and 1",
                self.test_fraction
            )));
        }
        Ok(())
    }
}

/// A kind of creative work; decides the verbs used about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Genre {
    Novel,
    Film,
    Album,
    Painting,
    Opera,
}

impl Genre {
    pub const ALL: [Genre; 5] = [Genre::Novel, Genre::Film, Genre::Album, Genre::Painting, Genre::Opera];
    /// "novel", "film", ...
    pub fn noun(self) -> &'static str {
        ["novel", "film", "album", "painting", "opera"][self as usize]
    }
    /// What the creator did: "wrote", "directed", ...
    pub fn verb(self) -> &'static str {
        ["wrote", "directed", "recorded", "painted", "composed"][self as usize]
    }
    /// The creator's role: "author", "director", ...
    pub fn creator_noun(self) -> &'static str {
        ["author", "director", "artist", "painter", "composer"][self as usize]
    }
    /// What happened in the work's year: "published", "released", ...
    pub fn year_verb(self) -> &'static str {
        ["published", "released", "released", "completed", "first performed"][self as usize]
    }
}

/// An entity's facts; other entities are referred to by index into [`World::entities`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Facts {
    Person {
        birth_year: i32,
        birthplace: usize,
        employer: usize,
        notable_work: Option<usize>,
        occupation: &'static str,
    },
    Place {
        country: String,
        population: u64,
        founded: i32,
    },
    Organisation {
        founded: i32,
        headquarters: usize,
        founder: usize,
        industry: &'static str,
    },
    Work {
        year: i32,
        creator: usize,
        genre: Genre,
    },
}

/// One thing in the world, with its own page at `path`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entity {
    pub name: String,
    /// ASCII romanisation for names a slug cannot spell (CJK place names).
    pub roman: Option<String>,
    /// The entity's page, e.g. `/wiki/ada-lenz`.
    pub path: String,
    pub facts: Facts,
}

/// One page of the synthetic web.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimPage {
    /// Unique URL-safe ASCII path, e.g. `/wiki/ada-lenz`.
    pub path: String,
    pub title: String,
    pub html: String,
    /// Plain text of the main content (no header, nav, footer, banner), for search and snippets.
    pub text: String,
    /// Paths this page links to, in order of first appearance, without duplicates.
    pub links: Vec<String>,
}

/// A generated world: entities, their pages, and questions with gold answers.
#[derive(Debug, Clone, Serialize)]
pub struct World {
    pub config: WorldConfig,
    pub entities: Vec<Entity>,
    pub countries: Vec<String>,
    pub pages: Vec<SimPage>,
    pub questions: Vec<Question>,
    #[serde(skip)]
    by_path: BTreeMap<String, usize>,
}

/// Size summary of a world.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WorldStats {
    pub entities: usize,
    pub pages: usize,
    pub html_bytes: usize,
    pub min_page_bytes: usize,
    pub max_page_bytes: usize,
    /// `[hops-1][split]` with split 0 = train, 1 = test.
    pub questions: [[usize; 2]; 2],
}

impl World {
    /// Builds the world for `cfg`; fails only on an invalid config.
    pub fn generate(cfg: &WorldConfig) -> Result<World> {
        cfg.validate()?;
        let root = Rng::new(cfg.seed);
        let (entities, countries) = make_entities(cfg.entities, &root);
        let pages = pages::build_pages(&entities, &countries, &mut root.fork("pages"))?;
        let by_path: BTreeMap<String, usize> = pages.iter().enumerate().map(|(i, p)| (p.path.clone(), i)).collect();
        if by_path.len() != pages.len() {
            return Err(Error::internal("sim: generated page paths collide"));
        }
        let mut qrng = root.fork("questions");
        let questions = questions::make_questions(&entities, cfg.test_fraction, &mut qrng);
        Ok(World { config: cfg.clone(), entities, countries, pages, questions, by_path })
    }

    /// The page at `path` (exact match, e.g. `/wiki/ada-lenz` or `/`).
    pub fn page(&self, path: &str) -> Option<&SimPage> {
        self.by_path.get(path).and_then(|&i| self.pages.get(i))
    }

    /// A BM25 index over every page.
    pub fn index(&self) -> SimIndex {
        SimIndex::new(&self.pages)
    }

    /// blake3 (hex) of the whole world serialised: equal digests ⇔ identical worlds.
    pub fn digest(&self) -> String {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        blake3::hash(&bytes).to_hex().to_string()
    }

    /// Counts for logs and reports.
    pub fn stats(&self) -> WorldStats {
        let mut s = WorldStats { entities: self.entities.len(), pages: self.pages.len(), ..Default::default() };
        s.min_page_bytes = self.pages.iter().map(|p| p.html.len()).min().unwrap_or(0);
        s.max_page_bytes = self.pages.iter().map(|p| p.html.len()).max().unwrap_or(0);
        s.html_bytes = self.pages.iter().map(|p| p.html.len()).sum();
        for q in &self.questions {
            let h = usize::from(q.hops.clamp(1, 2)) - 1;
            s.questions[h][usize::from(q.split == Split::Test)] += 1;
        }
        s
    }
}

const OCCUPATIONS: &[&str] = &[
    "engineer",
    "novelist",
    "physician",
    "architect",
    "chemist",
    "painter",
    "composer",
    "journalist",
    "cartographer",
    "botanist",
    "economist",
    "photographer",
    "film director",
    "singer",
];

/// How many of each kind: (people, places, organisations, works), each at least 1.
fn kind_counts(n: usize) -> (usize, usize, usize, usize) {
    let places = (n * 20 / 100).max(1);
    let orgs = (n * 18 / 100).max(1);
    let works = (n * 22 / 100).max(1);
    (n.saturating_sub(places + orgs + works).max(1), places, orgs, works)
}

/// Names every entity, then draws facts that link them (people → places, orgs, works; ...).
fn make_entities(n: usize, root: &Rng) -> (Vec<Entity>, Vec<String>) {
    let (np, nl, no, nw) = kind_counts(n);
    let mut names = NameGen::new(root.fork("names"));
    let mut r = root.fork("facts");
    let countries: Vec<String> = (0..(nl / 5).clamp(2, 40)).map(|_| names.country().text).collect();
    let (p0, l0, o0, w0) = (0, np, np + nl, np + nl + no);
    let mut ents = Vec::with_capacity(n);
    for _ in 0..np {
        let birth_year = r.range(1780, 1990) as i32;
        let occupation = r.word(OCCUPATIONS);
        let facts = Facts::Person {
            birth_year,
            birthplace: l0 + r.below(nl),
            employer: o0 + r.below(no),
            notable_work: None,
            occupation,
        };
        ents.push(entity(names.person(), facts));
    }
    for _ in 0..nl {
        let country = r.pick(&countries).cloned().unwrap_or_default();
        let population = (r.range(2, 2_000) * 500) as u64 + r.below(500) as u64;
        ents.push(entity(names.place(), Facts::Place { country, population, founded: r.range(700, 1850) as i32 }));
    }
    for _ in 0..no {
        let founder = p0 + r.below(np);
        let by = birth_year(&ents[founder]);
        let founded = by + r.range(22, i64::from(2020 - by).clamp(22, 55)) as i32;
        let (name, industry) = names.organisation();
        ents.push(entity(name, Facts::Organisation { founded, headquarters: l0 + r.below(nl), founder, industry }));
    }
    for _ in 0..nw {
        let creator = p0 + r.below(np);
        let by = birth_year(&ents[creator]);
        let year = by + r.range(20, i64::from(2024 - by).clamp(20, 60)) as i32;
        let genre = Genre::ALL[r.below(Genre::ALL.len())];
        ents.push(entity(names.work(), Facts::Work { year, creator, genre }));
    }
    link_notable_works(&mut ents, w0);
    assign_paths(&mut ents);
    (ents, countries)
}

fn entity(name: super::names::Name, facts: Facts) -> Entity {
    Entity { name: name.text, roman: name.roman, path: String::new(), facts }
}

fn birth_year(e: &Entity) -> i32 {
    match e.facts {
        Facts::Person { birth_year, .. } => birth_year,
        _ => 1900,
    }
}

/// Each person's notable work is the first work (by index) they created, if any.
fn link_notable_works(ents: &mut [Entity], first_work: usize) {
    for w in first_work..ents.len() {
        if let Facts::Work { creator, .. } = ents[w].facts {
            if let Some(Facts::Person { notable_work, .. }) = ents.get_mut(creator).map(|e| &mut e.facts) {
                notable_work.get_or_insert(w);
            }
        }
    }
}

/// `/wiki/<slug>` from the name (or its romanisation), de-duplicated with `-2`, `-3`, ...
fn assign_paths(ents: &mut [Entity]) {
    let mut used = std::collections::BTreeSet::new();
    for (i, e) in ents.iter_mut().enumerate() {
        let mut base = super::names::slugify(e.roman.as_deref().unwrap_or(&e.name));
        if base.is_empty() {
            base = format!("entity-{i}");
        }
        let mut slug = base.clone();
        let mut k = 2;
        while !used.insert(slug.clone()) {
            slug = format!("{base}-{k}");
            k += 1;
        }
        e.path = format!("/wiki/{slug}");
    }
}
