//! What a loaded counter costs: resident memory before and after loading, the load's time,
//! and the time of `N` counts of a 1 KiB chat message (examples/message.txt), for this
//! crate or tiktoken-rs, under mimalloc as the `seam` binary runs.
//!
//! `cargo run --release -p seam-tokens --example footprint -- seam|tiktoken o200k|cl100k N`
//! Instructions per count: run it under `valgrind --tool=callgrind` with N and with 0.

use seam_tokens::Encoding;
use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;
use std::time::Instant;

struct Mimalloc;

// SAFETY: mimalloc returns blocks aligned as asked, or null; frees only its own blocks.
unsafe impl GlobalAlloc for Mimalloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: a plain FFI call with a size and a power-of-two alignment.
        unsafe { libmimalloc_sys::mi_malloc_aligned(layout.size(), layout.align()).cast() }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, _: Layout) {
        // SAFETY: `ptr` came from `alloc` above.
        unsafe { libmimalloc_sys::mi_free(ptr.cast()) }
    }
}

#[global_allocator]
static ALLOC: Mimalloc = Mimalloc;

const MESSAGE: &str = include_str!("message.txt");

fn memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().trim_end_matches(" kB").to_string())
            .unwrap_or_default()
    };
    format!(
        "VmRSS {} KiB (anon {}, file {}), VmHWM {} KiB",
        field("VmRSS:"),
        field("RssAnon:"),
        field("RssFile:"),
        field("VmHWM:")
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(which), Some(encoding), Some(n)) = (
        args.get(1),
        args.get(2),
        args.get(3).and_then(|n| n.parse::<u32>().ok()),
    ) else {
        eprintln!("usage: footprint seam|tiktoken o200k|cl100k N");
        std::process::exit(2);
    };
    let encoding = match encoding.as_str() {
        "cl100k" => Encoding::Cl100kBase,
        _ => Encoding::O200kBase,
    };
    println!("before load:  {}", memory());
    // Loaded on a thread of its own that then ends, as the gateway's warm-up does.
    let tiktoken = which == "tiktoken";
    let loader = std::thread::spawn(move || {
        let started = Instant::now();
        let count: Box<dyn Fn(&str) -> usize + Send> = if tiktoken {
            let bpe = match encoding {
                Encoding::O200kBase => tiktoken_rs::o200k_base(),
                Encoding::Cl100kBase => tiktoken_rs::cl100k_base(),
            }
            .expect("tiktoken-rs loads");
            Box::new(move |t| bpe.encode_ordinary(t).len())
        } else {
            let counter = seam_tokens::Counter::load(encoding).expect("the vocabulary loads");
            println!("index heap: {} KiB", counter.index_heap_bytes() / 1024);
            Box::new(move |t| counter.count(t))
        };
        (count, started.elapsed())
    });
    let Ok((count, took)) = loader.join() else {
        std::process::exit(1);
    };
    println!("loaded in {:.1} ms", took.as_secs_f64() * 1e3);
    println!("after load:   {}", memory());
    // mimalloc returns free pages a second after they were freed (its `purge_delay`), at
    // its next call: the counts below are those calls.
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    let started = Instant::now();
    let mut total = 0;
    for _ in 0..n {
        total += count(black_box(MESSAGE));
    }
    let took = started.elapsed();
    println!(
        "{n} counts of {} bytes ({} tokens each): {:.2} µs a count",
        MESSAGE.len(),
        total / n.max(1) as usize,
        took.as_secs_f64() * 1e6 / f64::from(n.max(1))
    );
    println!("after counts: {}", memory());
    // What stays when mimalloc returns every free page: the counter's own footprint.
    // SAFETY: a plain FFI call; mimalloc is linked as the global allocator above.
    unsafe { mi_collect(true) };
    println!("collected:    {}", memory());
}

unsafe extern "C" {
    fn mi_collect(force: bool);
}
