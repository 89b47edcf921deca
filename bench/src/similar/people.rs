//! Realistic, colliding contact data: names drawn from a few thousand first and last names
//! with a skewed distribution (common names have many holders), phone numbers from a shared
//! pool (the same number held by several contacts, across phone types), e-mails built from
//! names, each written in the ways people write them.

/// Common first names, most common first (a few accented, so folding is exercised).
#[rustfmt::skip]
const FIRST: &[&str] = &[
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Carlos",
    "Karen",
    "Christopher",
    "Lisa",
    "Daniel",
    "Nancy",
    "Matthew",
    "Betty",
    "Anthony",
    "Sandra",
    "Mark",
    "Margaret",
    "José",
    "Ashley",
    "Steven",
    "Kimberly",
    "Paul",
    "Emily",
    "Andrew",
    "Donna",
    "Joshua",
    "Michelle",
    "Kenneth",
    "Carol",
    "Kevin",
    "Amanda",
    "Brian",
    "Melissa",
    "George",
    "Deborah",
    "Timothy",
    "Stephanie",
    "Ronald",
    "Rebecca",
    "Jason",
    "Sharon",
    "Edward",
    "Laura",
    "Jeffrey",
    "Cynthia",
    "Ryan",
    "Dorothy",
    "Jacob",
    "Amy",
    "Gary",
    "Kathleen",
    "Nicholas",
    "Angela",
    "Eric",
    "Shirley",
    "Jonathan",
    "Emma",
    "Stephen",
    "Brenda",
    "Larry",
    "Pamela",
    "Justin",
    "Nicole",
    "Scott",
    "Anna",
    "Brandon",
    "Samantha",
    "Benjamin",
    "Katherine",
    "Samuel",
    "Christine",
    "Gregory",
    "Debra",
    "Alexander",
    "Rachel",
    "Patrick",
    "Carolyn",
    "Frank",
    "Janet",
    "Raymond",
    "Maria",
    "Jack",
    "Olivia",
    "Dennis",
    "Heather",
    "Jerry",
    "Helen",
    "Zoë",
    "Renée",
    "Anne-Marie",
    "François",
    "Jürgen",
    "Søren",
    "Chloé",
    "Ana",
    "Luis",
    "Miguel",
];

/// Common last names, most common first.
#[rustfmt::skip]
const LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Gómez",
    "Phillips",
    "Evans",
    "Turner",
    "Díaz",
    "Parker",
    "Cruz",
    "Edwards",
    "Collins",
    "Reyes",
    "Stewart",
    "Morris",
    "Morales",
    "Murphy",
    "Cook",
    "Rogers",
    "Gutiérrez",
    "Ortiz",
    "Morgan",
    "Cooper",
    "Peterson",
    "Bailey",
    "Reed",
    "Kelly",
    "Howard",
    "Ramos",
    "Kim",
    "Cox",
    "Ward",
    "Richardson",
    "Watson",
    "Brooks",
    "Chávez",
    "Wood",
    "James",
    "Bennett",
    "Gray",
    "Mendoza",
    "Ruiz",
    "Hughes",
    "Price",
    "Álvarez",
    "Castillo",
    "Sanders",
    "Patel",
    "Myers",
    "Long",
    "Ross",
    "Foster",
    "Jiménez",
    "O'Brien",
    "Müller",
    "Dupont",
    "Van der Berg",
    "Smith-Jones",
];

/// Syllables of the made-up names that extend the lists to a few thousand.
#[rustfmt::skip]
const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ra", "ne", "so", "ta", "vi", "be", "du", "fa", "gi", "ho", "ju", "le", "ma", "no",
    "pe", "ri", "sa", "te", "vo", "ze", "an", "el", "or", "ul", "is",
];
/// Endings of made-up last names.
const ENDINGS: &[&str] = &["son", "berg", "ez", "ski", "ton", "ley", "man", "ov", "ini", "ard"];

/// Area codes of the phone pool.
#[rustfmt::skip]
const AREAS: &[u32] = &[
    201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214, 215, 216, 217, 218, 219, 224, 225, 228, 229,
    231, 234, 239, 240, 248, 251, 252, 253, 254, 256, 260, 262, 267, 269, 270, 276, 281, 301, 302,
];

/// E-mail domains.
const DOMAINS: &[&str] = &["gmail.com", "yahoo.com", "outlook.com", "example.com", "mail.example.org"];

/// A small, fast, deterministic random number generator (SplitMix64): the same seed gives
/// the same data on every run and backend.
pub struct Rng(u64);

impl Rng {
    /// A generator started at `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// In `0..n`, skewed towards 0: `n * u^exponent`. With exponent 2 the most common of 1,500
    /// values is drawn 2.6 % of the time; with 1.5, the most common of 3,000 0.5 % of the time
    /// (about James and Smith in the United States).
    pub fn skewed(&mut self, n: usize, exponent: f64) -> usize {
        ((n as f64 * self.unit().powf(exponent)) as usize).min(n.saturating_sub(1))
    }
}

/// How many first and last names there are.
pub const FIRST_NAMES: usize = 1_500;
/// How many last names there are.
pub const LAST_NAMES: usize = 3_000;

/// The name lists: the common names above, then made-up ones.
pub struct Names {
    first: Vec<String>,
    last: Vec<String>,
}

impl Names {
    /// Builds the lists.
    pub fn new() -> Self {
        let made_up = |n: usize, last: bool| {
            let s = SYLLABLES.len();
            let mut word = format!("{}{}", SYLLABLES[n % s], SYLLABLES[(n / s) % s]);
            if last {
                word.push_str(ENDINGS[(n / (s * s)) % ENDINGS.len()]);
            } else if n / (s * s) % 2 == 1 {
                word.push('a');
            }
            let mut chars = word.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
        };
        let extend = |common: &[&str], count: usize, last: bool| {
            let mut list: Vec<String> = common.iter().map(|s| (*s).to_owned()).collect();
            let mut n = 0;
            while list.len() < count {
                let name = made_up(n, last);
                n += 1;
                if !list.contains(&name) {
                    list.push(name);
                }
            }
            list
        };
        Self { first: extend(FIRST, FIRST_NAMES, false), last: extend(LAST, LAST_NAMES, true) }
    }

    /// First name `i`.
    pub fn first(&self, i: u16) -> &str {
        &self.first[usize::from(i)]
    }

    /// Last name `i`.
    pub fn last(&self, i: u16) -> &str {
        &self.last[usize::from(i)]
    }

    /// A (first, last) pair drawn with the skew of real names.
    pub fn draw(&self, rng: &mut Rng) -> (u16, u16) {
        (rng.skewed(self.first.len(), 2.0) as u16, rng.skewed(self.last.len(), 1.5) as u16)
    }
}

/// The phone pool: number `p` is `AAA 2LL LLLL` with area code `AREAS[p % 40]`. Returns the
/// ten national digits.
pub fn phone_digits(p: u32) -> String {
    let areas = AREAS.len() as u32;
    format!("{}{:07}", AREAS[(p % areas) as usize], 2_000_000 + p / areas)
}

/// Number `p` written the way contact `n` writes numbers.
pub fn phone_written(p: u32, n: u64) -> String {
    let d = phone_digits(p);
    match n % 4 {
        0 => format!("+1 ({}) {}-{}", &d[..3], &d[3..6], &d[6..]),
        1 => d,
        2 => format!("+1{d}"),
        _ => format!("{}.{}.{}", &d[..3], &d[3..6], &d[6..]),
    }
}

/// An e-mail for `first last`, written the way contact `n` writes it.
pub fn email(first: &str, last: &str, rng: &mut Rng, n: u64) -> String {
    let clean = |s: &str| s.chars().filter(|c| c.is_alphanumeric()).collect::<String>();
    let suffix = match rng.below(4) {
        0 => String::new(),
        _ => rng.below(30).to_string(),
    };
    let address = format!("{}.{}{suffix}@{}", clean(first), clean(last), DOMAINS[rng.below(DOMAINS.len())]);
    if n.is_multiple_of(3) { address } else { address.to_lowercase() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_full_and_unique() {
        let names = Names::new();
        assert_eq!(names.first.len(), FIRST_NAMES);
        assert_eq!(names.last.len(), LAST_NAMES);
        let mut last = names.last.clone();
        last.sort();
        last.dedup();
        assert_eq!(last.len(), LAST_NAMES);
        assert_eq!(names.first(0), "James");
    }

    #[test]
    fn phones_have_ten_digits_in_every_writing() {
        assert_eq!(phone_digits(0), "2012000000");
        assert_eq!(phone_digits(41), "2022000001");
        assert_eq!(phone_written(0, 0), "+1 (201) 200-0000");
        assert_eq!(phone_written(0, 3), "201.200.0000");
    }

    #[test]
    fn skew_prefers_small_values() {
        let mut rng = Rng::new(7);
        let draws: Vec<usize> = (0..10_000).map(|_| rng.skewed(1_500, 2.0)).collect();
        let zeros = draws.iter().filter(|&&d| d == 0).count();
        assert!((150..400).contains(&zeros), "{zeros}");
        assert!(draws.iter().all(|&d| d < 1_500));
    }
}
