//! Questions with gold answers: per entity one single-hop question (answer on its own page) and,
//! where the entity links onward, one two-hop question (answer on the linked page, whose name the
//! question never mentions). Split train/test by subject entity, deterministically.
use serde::{Deserialize, Serialize};

use super::names::fold;
use super::pages::thousands;
use super::rng::Rng;
use super::world::{Entity, Facts};

/// Which part of the question set a question belongs to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    #[default]
    Train,
    Test,
}

/// A question about the synthetic world, with the scripted expert's plan (`expert_queries`, `support`,
/// `expert_notes`). Read back from `webtape sim questions` files, where `hops`, `split` and `expert_notes` may be
/// absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// Stable id: `<subject slug>.<template>`, e.g. `ada-lenz.birth-year`.
    pub id: String,
    pub question: String,
    /// Accepted answers; the first is canonical and appears verbatim on the last support page.
    pub answers: Vec<String>,
    /// 1 or 2: how many pages the answer needs.
    #[serde(default = "one_hop")]
    pub hops: u8,
    #[serde(default)]
    pub split: Split,
    /// Page paths holding the facts, in the order an agent needs them.
    pub support: Vec<String>,
    /// One search query per hop; `expert_queries[i]` finds `support[i]` in the top 3.
    pub expert_queries: Vec<String>,
    /// Per hop, the fact the expert reads on `support[i]` as the page's infobox gives it (`Employer: Zas
    /// Motorenwerke`, `Born: 1796`): the next hop's entity, or the answer on the last page.
    #[serde(default)]
    pub expert_notes: Vec<String>,
    /// Where the question comes from (`sim` in question files; none for a freshly generated world).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_source: Option<String>,
}

fn one_hop() -> u8 {
    1
}

/// A question before its split is known: template key, text, answers, entity chain, and per hop the infobox
/// label of the fact read there.
struct Cand {
    key: &'static str,
    text: String,
    answers: Vec<String>,
    chain: Vec<usize>,
    labels: Vec<String>,
}

fn cand(key: &'static str, text: String, answers: Vec<String>, chain: Vec<usize>) -> Cand {
    let labels = default_labels(key).iter().map(|l| l.to_string()).collect();
    Cand { key, text, answers, chain, labels }
}

/// The infobox labels (see `pages.rs`) a template's facts sit under, per hop; works' creator labels depend on the
/// genre and are set where the question is made.
fn default_labels(key: &str) -> &'static [&'static str] {
    match key {
        "birth-year" => &["Born"],
        "birthplace" => &["Birthplace"],
        "employer" => &["Employer"],
        "country" => &["Country"],
        "founded" => &["Founded"],
        "population" => &["Population"],
        "headquarters" => &["Headquarters"],
        "founder" => &["Founder"],
        "year" => &["Year"],
        "birth-country" => &["Birthplace", "Country"],
        "employer-founded" => &["Employer", "Founded"],
        "employer-founder" => &["Employer", "Founder"],
        "notable-work-year" => &["Notable work", "Year"],
        "founder-birth-year" => &["Founder", "Born"],
        "hq-country" => &["Headquarters", "Country"],
        "creator-birth-year" => &["", "Born"],
        "creator-birthplace" => &["", "Birthplace"],
        _ => &[""],
    }
}

/// "author" → "Author": the infobox label of a work's creator.
fn capitalised(role: &str) -> String {
    let mut out = role.to_string();
    if let Some(first) = out.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    out
}

/// An entity's name as answers: the name, its romanisation, its ASCII folding (deduplicated).
fn name_answers(e: &Entity) -> Vec<String> {
    let mut out = vec![e.name.clone()];
    for alt in [e.roman.clone(), Some(fold(&e.name))].into_iter().flatten() {
        if !out.contains(&alt) {
            out.push(alt);
        }
    }
    out
}

/// A plain string answer and its ASCII folding (deduplicated).
fn text_answers(s: &str) -> Vec<String> {
    let mut out = vec![s.to_string()];
    let folded = fold(s);
    if folded != s {
        out.push(folded);
    }
    out
}

fn year(y: i32) -> Vec<String> {
    vec![y.to_string()]
}

fn single_hop(i: usize, ents: &[Entity]) -> Vec<Cand> {
    let e = &ents[i];
    let n = &e.name;
    match &e.facts {
        Facts::Person { birth_year, birthplace, employer, .. } => vec![
            cand("birth-year", format!("In what year was {n} born?"), year(*birth_year), vec![i]),
            cand("birthplace", format!("Where was {n} born?"), name_answers(&ents[*birthplace]), vec![i]),
            cand("employer", format!("Which organisation did {n} work for?"), name_answers(&ents[*employer]), vec![i]),
        ],
        Facts::Place { country, founded, population } => vec![
            cand("country", format!("In which country is {n}?"), text_answers(country), vec![i]),
            cand("founded", format!("In what year was {n} founded?"), year(*founded), vec![i]),
            cand(
                "population",
                format!("What is the population of {n}?"),
                vec![thousands(*population), population.to_string()],
                vec![i],
            ),
        ],
        Facts::Organisation { founded, headquarters, founder, .. } => vec![
            cand("founded", format!("In what year was {n} founded?"), year(*founded), vec![i]),
            cand(
                "headquarters",
                format!("Where is the headquarters of {n}?"),
                name_answers(&ents[*headquarters]),
                vec![i],
            ),
            cand("founder", format!("Who founded {n}?"), name_answers(&ents[*founder]), vec![i]),
        ],
        Facts::Work { year: y, creator, genre } => vec![
            Cand {
                labels: vec![capitalised(genre.creator_noun())],
                ..cand("creator", format!("Who {} {n}?", genre.verb()), name_answers(&ents[*creator]), vec![i])
            },
            cand("year", format!("In what year was {n} {}?", genre.year_verb()), year(*y), vec![i]),
        ],
    }
}

fn person_two_hop(i: usize, ents: &[Entity]) -> Vec<Cand> {
    let e = &ents[i];
    let n = &e.name;
    let Facts::Person { birthplace, employer, notable_work, .. } = e.facts else { return Vec::new() };
    let mut out = Vec::new();
    if let Facts::Place { country, .. } = &ents[birthplace].facts {
        out.push(cand(
            "birth-country",
            format!("In which country was {n} born?"),
            text_answers(country),
            vec![i, birthplace],
        ));
    }
    if let Facts::Organisation { founded, founder, .. } = ents[employer].facts {
        let q = format!("In what year was the organisation that {n} worked for founded?");
        out.push(cand("employer-founded", q, year(founded), vec![i, employer]));
        if founder != i {
            let q = format!("Who founded the organisation that {n} worked for?");
            out.push(cand("employer-founder", q, name_answers(&ents[founder]), vec![i, employer]));
        }
    }
    if let Some(w) = notable_work {
        if let Facts::Work { year: y, genre, .. } = ents[w].facts {
            let q = format!("In what year was the best-known {} by {n} {}?", genre.noun(), genre.year_verb());
            out.push(cand("notable-work-year", q, year(y), vec![i, w]));
        }
    }
    out
}

fn two_hop(i: usize, ents: &[Entity]) -> Vec<Cand> {
    let e = &ents[i];
    let n = &e.name;
    match e.facts {
        Facts::Person { .. } => person_two_hop(i, ents),
        Facts::Organisation { headquarters, founder, .. } => {
            let mut out = Vec::new();
            if let Facts::Person { birth_year, .. } = ents[founder].facts {
                out.push(cand(
                    "founder-birth-year",
                    format!("In what year was the founder of {n} born?"),
                    year(birth_year),
                    vec![i, founder],
                ));
            }
            if let Facts::Place { country, .. } = &ents[headquarters].facts {
                out.push(cand(
                    "hq-country",
                    format!("In which country is {n} headquartered?"),
                    text_answers(country),
                    vec![i, headquarters],
                ));
            }
            out
        }
        Facts::Work { creator, genre, .. } => {
            let role = genre.creator_noun();
            let Facts::Person { birth_year, birthplace, .. } = ents[creator].facts else { return Vec::new() };
            let with_role = |c: Cand| Cand { labels: vec![capitalised(role), c.labels[1].clone()], ..c };
            vec![
                with_role(cand(
                    "creator-birth-year",
                    format!("In what year was the {role} of {n} born?"),
                    year(birth_year),
                    vec![i, creator],
                )),
                with_role(cand(
                    "creator-birthplace",
                    format!("Where was the {role} of {n} born?"),
                    name_answers(&ents[birthplace]),
                    vec![i, creator],
                )),
            ]
        }
        Facts::Place { .. } => Vec::new(),
    }
}

/// True when the question names no entity of its chain but the first (so hop 2 must be browsed).
fn names_only_subject(c: &Cand, ents: &[Entity]) -> bool {
    let q = fold(&c.text).to_lowercase();
    c.chain.iter().skip(1).all(|&j| {
        let e = &ents[j];
        !q.contains(&fold(&e.name).to_lowercase()) && e.roman.as_ref().is_none_or(|r| !q.contains(&r.to_lowercase()))
    })
}

fn finish(c: Cand, ents: &[Entity], split: Split) -> Question {
    let slug = ents[c.chain[0]].path.trim_start_matches("/wiki/").to_string();
    let values = c.chain.iter().skip(1).map(|&j| ents[j].name.clone()).chain(c.answers.first().cloned());
    let expert_notes = c.labels.iter().zip(values).map(|(label, value)| format!("{label}: {value}")).collect();
    Question {
        id: format!("{slug}.{}", c.key),
        question: c.text,
        answers: c.answers,
        hops: c.chain.len() as u8,
        split,
        support: c.chain.iter().map(|&j| ents[j].path.clone()).collect(),
        expert_queries: c.chain.iter().map(|&j| ents[j].name.clone()).collect(),
        expert_notes,
        data_source: None,
    }
}

/// Per entity, one single-hop and (where possible) one two-hop question, templates drawn from `r`.
/// Entities (and so all their questions) go to the test split with share `test_fraction`.
pub fn make_questions(ents: &[Entity], test_fraction: f32, r: &mut Rng) -> Vec<Question> {
    let mut order: Vec<usize> = (0..ents.len()).collect();
    r.shuffle(&mut order);
    let n_test = ((ents.len() as f64) * f64::from(test_fraction.clamp(0.0, 1.0))).round() as usize;
    let mut is_test = vec![false; ents.len()];
    for &i in order.iter().take(n_test) {
        is_test[i] = true;
    }
    let mut out = Vec::new();
    for (i, &test) in is_test.iter().enumerate() {
        let split = if test { Split::Test } else { Split::Train };
        for mut cands in [single_hop(i, ents), two_hop(i, ents)] {
            cands.retain(|c| names_only_subject(c, ents));
            if cands.is_empty() {
                continue;
            }
            let pick = r.below(cands.len());
            out.push(finish(cands.swap_remove(pick), ents, split));
        }
    }
    out
}
