//! The fuzz targets on stable (README, "Fuzzing"): each of
//! `lea_notices::fuzzing::TARGETS` over its checked-in seed corpus
//! (`fuzz/corpus/<target>/`, with anything a longer libFuzzer run added there),
//! then over seeded mutations of it: bytes flipped, replaced, cut, repeated and
//! spliced between seeds. Deterministic and bounded, so it runs with every
//! `cargo test`; `cargo fuzz run` explores far more.

use rand::{Rng, SeedableRng, rngs::StdRng};

/// Mutated inputs per target.
const MUTATIONS: usize = 3_000;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

fn mutate(rng: &mut StdRng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut v = seeds[rng.random_range(0..seeds.len())].clone();
    for _ in 0..rng.random_range(1..6) {
        let at = if v.is_empty() {
            0
        } else {
            rng.random_range(0..v.len())
        };
        match rng.random_range(0..7) {
            0 if !v.is_empty() => v[at] ^= 1 << rng.random_range(0..8),
            1 if !v.is_empty() => v[at] = rng.random(),
            2 => v.truncate(at),
            3 => {
                let b = [0u8, 0xff, 0x80, b'\n', b',', b'"', b'<', b'|', b'-', b'/'];
                v.insert(at, b[rng.random_range(0..b.len())]);
            }
            4 if !v.is_empty() => {
                let end = (at + rng.random_range(1..16)).min(v.len());
                let chunk = v[at..end].to_vec();
                for _ in 0..rng.random_range(1..50) {
                    v.splice(at..at, chunk.iter().copied());
                }
            }
            5 => {
                let other = &seeds[rng.random_range(0..seeds.len())];
                let from = rng.random_range(0..=other.len());
                v.splice(at..at, other[from..].iter().copied());
            }
            _ => v.push(rng.random()),
        }
    }
    v
}

#[test]
fn every_fuzz_target_survives_its_corpus_and_mutations_of_it() {
    for (i, (name, target)) in lea_notices::fuzzing::TARGETS.iter().enumerate() {
        let seeds = corpus(name);
        assert!(!seeds.is_empty(), "no seeds for {name}");
        for seed in &seeds {
            target(seed);
        }
        let mut rng = StdRng::seed_from_u64(25 + i as u64);
        for _ in 0..MUTATIONS {
            let input = mutate(&mut rng, &seeds);
            let caught = std::panic::catch_unwind(|| target(&input));
            assert!(caught.is_ok(), "{name} panicked on {input:02x?}");
        }
    }
}

/// The importers' seeds are files they read, so mutations start from the
/// paths that matter.
#[test]
fn the_importers_seeds_are_read() {
    use lea_notices::cli::import_marks::{Layout, ctf, layout};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    let mut marks = 0;
    layout::read_csv_bytes(
        &read("mis_csv/sessions.csv"),
        "s",
        &Layout::default(),
        &mut |_, _| {
            marks += 1;
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(marks, 3);
    let strings = Layout {
        columns: layout::parse_columns("upn=UPN,start_date=Start,marks=Marks").unwrap(),
        school_urn: Some("116439".into()),
        recorded_at: chrono::DateTime::parse_from_rfc3339("2025-01-10T16:00:00+00:00").ok(),
        ..Layout::default()
    };
    let mut marks = 0;
    layout::read_csv_bytes(&read("mis_csv/strings.csv"), "s", &strings, &mut |_, _| {
        marks += 1;
        Ok(())
    })
    .unwrap();
    assert!(marks > 5, "{marks}");
    let mut marks = 0;
    let text = String::from_utf8(read("ctf/sample.xml")).unwrap();
    ctf::read_ctf_text(&text, &Layout::default(), &mut |_, _| {
        marks += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(marks, 3);
    let gias = lea_notices::cli::import_schools::decode(&read("gias/sample.csv"));
    let la = lea_notices::domain::identifiers::LaCode::parse("850").unwrap();
    let (schools, _, _) = lea_notices::cli::import_schools::read_schools(&gias, &la, true).unwrap();
    assert!(!schools.is_empty());
}
