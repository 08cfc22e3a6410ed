//! The system's MPI library, loaded at run time (`dlopen`), so shapeflow builds on machines
//! without MPI and the MPI it talks to is the one `mpirun` belongs to. Two ABIs cover the
//! common implementations: Open MPI's (handles are addresses of `ompi_mpi_*` globals) and
//! MPICH's (handles are fixed integers; also Intel MPI, MVAPICH, Cray MPICH). Only the calls
//! the engine needs are bound; every one is checked and its error text read back.

use std::ffi::{CStr, c_char, c_int, c_void};

use shapeflow_core::{Error, Result};

/// Where MPI is looked for: `SHAPEFLOW_MPI_LIBRARY` if set, then these sonames.
const CANDIDATES: [&str; 4] = ["libmpi.so.40", "libmpi.so.12", "libmpich.so.12", "libmpi.so"];

const MPI_THREAD_FUNNELED: c_int = 1;

/// The element types the engine sends.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Datatype {
    F32,
    F64,
    U8,
}

/// One ABI's calls, with its handle type `H` (`*mut c_void` for Open MPI, `c_int` for MPICH).
struct Calls<H: Copy> {
    initialized: unsafe extern "C" fn(*mut c_int) -> c_int,
    init_thread:
        unsafe extern "C" fn(*mut c_int, *mut *mut *mut c_char, c_int, *mut c_int) -> c_int,
    finalize: unsafe extern "C" fn() -> c_int,
    comm_rank: unsafe extern "C" fn(H, *mut c_int) -> c_int,
    comm_size: unsafe extern "C" fn(H, *mut c_int) -> c_int,
    allreduce: unsafe extern "C" fn(*const c_void, *mut c_void, c_int, H, H, H) -> c_int,
    bcast: unsafe extern "C" fn(*mut c_void, c_int, H, c_int, H) -> c_int,
    error_string: unsafe extern "C" fn(c_int, *mut c_char, *mut c_int) -> c_int,
    world: H,
    float: H,
    double: H,
    byte: H,
    sum: H,
}

enum Abi {
    OpenMpi(Calls<*mut c_void>),
    Mpich(Calls<c_int>),
}

/// The loaded library: its calls, and its own description (`MPI_Get_library_version`).
pub(crate) struct MpiLibrary {
    abi: Abi,
    /// E.g. "Open MPI v4.1.4" or "MPICH Version: 4.0.2".
    pub version: String,
    /// The file it was loaded from.
    pub path: String,
    // Never unloaded: MPI libraries do not survive `dlclose`.
    _library: libloading::Library,
}

// SAFETY: the library's calls are made from the engine's one thread (MPI_THREAD_FUNNELED);
// the handles are constants or addresses of the library's globals, valid for its lifetime.
unsafe impl Send for MpiLibrary {}

/// Looks a function up by name; `T` is its `unsafe extern "C" fn` type.
///
/// # Safety
/// `T` must be the symbol's true C signature.
unsafe fn call<T: Copy>(lib: &libloading::Library, path: &str, name: &str) -> Result<T> {
    // SAFETY: the caller states `T` is the symbol's signature.
    unsafe { lib.get::<T>(name.as_bytes()) }.map(|s| *s).map_err(|e| {
        Error::Distributed(format!(
            "{path} has no {name} ({}); is it an MPI library?",
            with_source(&e)
        ))
    })
}

/// The address of an Open MPI predefined object (`MPI_COMM_WORLD` is `&ompi_mpi_comm_world`).
fn global(lib: &libloading::Library, path: &str, name: &str) -> Result<*mut c_void> {
    // SAFETY: a data symbol read as its address; nothing is dereferenced here.
    unsafe { lib.get::<*mut c_void>(name.as_bytes()) }.map(|s| *s).map_err(|e| {
        Error::Distributed(format!(
            "{path} has no {name} ({}); is it an MPI library?",
            with_source(&e)
        ))
    })
}

impl<H: Copy> Calls<H> {
    /// # Safety
    /// `lib` must implement the ABI whose handle type is `H`.
    unsafe fn load(lib: &libloading::Library, path: &str, handles: [H; 5]) -> Result<Calls<H>> {
        let [world, float, double, byte, sum] = handles;
        // SAFETY: the signatures are those of the MPI standard's C bindings with this ABI's
        // handle type, which the caller vouches for.
        unsafe {
            Ok(Calls {
                initialized: call(lib, path, "MPI_Initialized")?,
                init_thread: call(lib, path, "MPI_Init_thread")?,
                finalize: call(lib, path, "MPI_Finalize")?,
                comm_rank: call(lib, path, "MPI_Comm_rank")?,
                comm_size: call(lib, path, "MPI_Comm_size")?,
                allreduce: call(lib, path, "MPI_Allreduce")?,
                bcast: call(lib, path, "MPI_Bcast")?,
                error_string: call(lib, path, "MPI_Error_string")?,
                world,
                float,
                double,
                byte,
                sum,
            })
        }
    }

    fn datatype(&self, t: Datatype) -> H {
        match t {
            Datatype::F32 => self.float,
            Datatype::F64 => self.double,
            Datatype::U8 => self.byte,
        }
    }

    /// `Err` naming the call and MPI's own text for a non-zero return code.
    fn check(&self, what: &str, code: c_int) -> Result<()> {
        if code == 0 {
            return Ok(());
        }
        let mut text = vec![0 as c_char; 1024];
        let mut len: c_int = 0;
        // SAFETY: MPI writes at most MPI_MAX_ERROR_STRING (≤ 1024 in both ABIs) characters.
        let known = unsafe { (self.error_string)(code, text.as_mut_ptr(), &mut len) } == 0;
        let text = if known {
            // SAFETY: MPI_Error_string writes a NUL-terminated string.
            unsafe { CStr::from_ptr(text.as_ptr()) }.to_string_lossy().into_owned()
        } else {
            "no description".into()
        };
        Err(Error::Distributed(format!("{what} failed with MPI error {code}: {text}")))
    }

    fn init(&self) -> Result<(usize, usize)> {
        let mut already: c_int = 0;
        // SAFETY: MPI_Initialized may be called at any time and writes one int.
        self.check("MPI_Initialized", unsafe { (self.initialized)(&mut already) })?;
        if already != 0 {
            return Err(Error::Distributed("MPI is already initialised in this process".into()));
        }
        let mut provided: c_int = 0;
        // SAFETY: null argc/argv are allowed by MPI-2 and later; `provided` is one int.
        let code = unsafe {
            (self.init_thread)(
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                MPI_THREAD_FUNNELED,
                &mut provided,
            )
        };
        self.check("MPI_Init_thread", code)?;
        if provided < MPI_THREAD_FUNNELED {
            return Err(Error::Distributed(format!(
                "this MPI provides thread level {provided}; shapeflow needs \
                 MPI_THREAD_FUNNELED ({MPI_THREAD_FUNNELED})"
            )));
        }
        let (mut rank, mut size): (c_int, c_int) = (0, 0);
        // SAFETY: MPI is initialised; each call writes one int.
        self.check("MPI_Comm_rank", unsafe { (self.comm_rank)(self.world, &mut rank) })?;
        // SAFETY: as above.
        self.check("MPI_Comm_size", unsafe { (self.comm_size)(self.world, &mut size) })?;
        Ok((rank as usize, size as usize))
    }

    /// # Safety
    /// `send` and `out` hold `count` elements of `t`.
    unsafe fn all_reduce_sum(
        &self,
        send: *const c_void,
        out: *mut c_void,
        count: c_int,
        t: Datatype,
    ) -> Result<()> {
        // SAFETY: the caller's buffers hold `count` elements of the datatype passed.
        let code =
            unsafe { (self.allreduce)(send, out, count, self.datatype(t), self.sum, self.world) };
        self.check("MPI_Allreduce", code)
    }

    /// # Safety
    /// `buf` holds `count` elements of `t`.
    unsafe fn broadcast(
        &self,
        buf: *mut c_void,
        count: c_int,
        t: Datatype,
        root: c_int,
    ) -> Result<()> {
        // SAFETY: the caller's buffer holds `count` elements of the datatype passed.
        let code = unsafe { (self.bcast)(buf, count, self.datatype(t), root, self.world) };
        self.check("MPI_Bcast", code)
    }

    fn finalize(&self) {
        // SAFETY: called once, on the thread that initialised MPI, after its last collective.
        let _ = unsafe { (self.finalize)() };
    }
}

/// Runs `$body` with `$c` bound to the loaded ABI's calls.
macro_rules! with_calls {
    ($abi:expr, $c:ident => $body:expr) => {
        match $abi {
            Abi::OpenMpi($c) => $body,
            Abi::Mpich($c) => $body,
        }
    };
}

impl MpiLibrary {
    /// Loads the first MPI library found and recognises its ABI.
    pub fn load() -> Result<MpiLibrary> {
        let chosen = std::env::var("SHAPEFLOW_MPI_LIBRARY").ok().filter(|p| !p.is_empty());
        let names: Vec<String> = match &chosen {
            Some(p) => vec![p.clone()],
            None => CANDIDATES.iter().map(|s| s.to_string()).collect(),
        };
        let mut tried = Vec::new();
        for name in &names {
            match open(name) {
                Ok(lib) => return Self::recognise(lib, name),
                Err(e) => tried.push(format!("{name} ({})", with_source(&e))),
            }
        }
        Err(Error::Distributed(format!(
            "no MPI library could be loaded; tried {}. Install Open MPI or MPICH (Debian: apt \
             install openmpi-bin) or set SHAPEFLOW_MPI_LIBRARY to the libmpi file",
            tried.join(", ")
        )))
    }

    fn recognise(lib: libloading::Library, path: &str) -> Result<MpiLibrary> {
        let version = library_version(&lib, path)?;
        let abi = if let Ok(world) = global(&lib, path, "ompi_mpi_comm_world") {
            let handles = [
                world,
                global(&lib, path, "ompi_mpi_float")?,
                global(&lib, path, "ompi_mpi_double")?,
                global(&lib, path, "ompi_mpi_byte")?,
                global(&lib, path, "ompi_mpi_op_sum")?,
            ];
            // SAFETY: the library defines Open MPI's predefined objects, so it has Open MPI's ABI.
            Abi::OpenMpi(unsafe { Calls::load(&lib, path, handles)? })
        } else if ["MPICH", "Intel(R) MPI", "MVAPICH", "CRAY MPICH"]
            .iter()
            .any(|n| version.contains(n))
        {
            // MPICH's mpi.h: MPI_COMM_WORLD, MPI_FLOAT, MPI_DOUBLE, MPI_BYTE, MPI_SUM.
            let handles = [0x4400_0000, 0x4c00_040a, 0x4c00_080b, 0x4c00_010d, 0x5800_0003];
            // SAFETY: the library describes itself as MPICH or one of its ABI-compatible builds.
            Abi::Mpich(unsafe { Calls::load(&lib, path, handles)? })
        } else {
            return Err(Error::Distributed(format!(
                "{path} is an MPI whose ABI shapeflow does not know (\"{version}\"); Open MPI \
                 and MPICH-based MPIs are supported"
            )));
        };
        Ok(MpiLibrary { abi, version, path: path.to_string(), _library: lib })
    }

    /// `MPI_Init_thread(FUNNELED)` on the calling thread; returns (rank, world size).
    pub fn init(&self) -> Result<(usize, usize)> {
        with_calls!(&self.abi, c => c.init())
    }

    /// Sums `send` over the ranks into `out` (same length).
    pub fn all_reduce_sum<T: Element>(&self, send: &[T], out: &mut [T]) -> Result<()> {
        if send.len() != out.len() {
            return Err(Error::Distributed(format!(
                "all-reduce of {} values into a buffer of {}",
                send.len(),
                out.len()
            )));
        }
        let count = count(send.len())?;
        let (s, o) = (send.as_ptr().cast(), out.as_mut_ptr().cast());
        // SAFETY: both buffers hold `count` elements of T's datatype.
        with_calls!(&self.abi, c => unsafe { c.all_reduce_sum(s, o, count, T::DATATYPE) })
    }

    /// Replaces `buf` with rank `root`'s.
    pub fn broadcast<T: Element>(&self, buf: &mut [T], root: usize) -> Result<()> {
        let count = count(buf.len())?;
        let b = buf.as_mut_ptr().cast();
        // SAFETY: the buffer holds `count` elements of T's datatype.
        with_calls!(&self.abi, c => unsafe { c.broadcast(b, count, T::DATATYPE, root as c_int) })
    }

    /// `MPI_Finalize`, on the thread that called [`MpiLibrary::init`].
    pub fn finalize(&self) {
        with_calls!(&self.abi, c => c.finalize())
    }
}

/// The element types MPI sends for us.
pub(crate) trait Element: Copy {
    const DATATYPE: Datatype;
}
impl Element for f32 {
    const DATATYPE: Datatype = Datatype::F32;
}
impl Element for f64 {
    const DATATYPE: Datatype = Datatype::F64;
}
impl Element for u8 {
    const DATATYPE: Datatype = Datatype::U8;
}

/// libloading's error with the system's own text (`dlerror`), which it keeps as the source.
fn with_source(e: &libloading::Error) -> String {
    match std::error::Error::source(e) {
        Some(s) => format!("{e}: {s}"),
        None => e.to_string(),
    }
}

/// MPI counts are C `int`s.
fn count(len: usize) -> Result<c_int> {
    c_int::try_from(len).map_err(|_| {
        Error::Distributed(format!(
            "{len} values in one MPI operation; MPI counts stop at {} (use smaller buckets)",
            c_int::MAX
        ))
    })
}

/// `dlopen(name, RTLD_NOW | RTLD_GLOBAL)`: Open MPI's plugins resolve their symbols against
/// the already-loaded libmpi, which needs it global.
#[cfg(unix)]
fn open(name: &str) -> std::result::Result<libloading::Library, libloading::Error> {
    use libloading::os::unix::{Library, RTLD_GLOBAL, RTLD_NOW};
    // SAFETY: loading an MPI library runs its initialisers, which only set up its own state.
    unsafe { Library::open(Some(name), RTLD_NOW | RTLD_GLOBAL) }.map(Into::into)
}

#[cfg(not(unix))]
fn open(name: &str) -> std::result::Result<libloading::Library, libloading::Error> {
    // SAFETY: as above.
    unsafe { libloading::Library::new(name) }
}

fn library_version(lib: &libloading::Library, path: &str) -> Result<String> {
    type GetVersion = unsafe extern "C" fn(*mut c_char, *mut c_int) -> c_int;
    // SAFETY: MPI-3's signature of MPI_Get_library_version.
    let get: GetVersion = unsafe { call(lib, path, "MPI_Get_library_version")? };
    // MPI_MAX_LIBRARY_VERSION_STRING: 256 in Open MPI, 8192 in MPICH.
    let mut text = vec![0 as c_char; 8192];
    let mut len: c_int = 0;
    // SAFETY: callable before MPI_Init; writes at most MPI_MAX_LIBRARY_VERSION_STRING chars.
    if unsafe { get(text.as_mut_ptr(), &mut len) } != 0 {
        return Err(Error::Distributed(format!("{path}: MPI_Get_library_version failed")));
    }
    // SAFETY: a NUL-terminated string within the buffer.
    let text = unsafe { CStr::from_ptr(text.as_ptr()) }.to_string_lossy().into_owned();
    // "Open MPI v4.1.4, package: …" or "MPICH Version:\t4.0.2": the name and version.
    let first = text.lines().next().unwrap_or_default();
    let first = first.split(',').next().unwrap_or_default();
    Ok(first.split_whitespace().collect::<Vec<_>>().join(" "))
}
