//! Runtime CPU-feature dispatch for hot loops.
//!
//! [`multiversion!`](crate::multiversion) compiles a function body twice: once for the
//! baseline target and once with AVX2 and FMA enabled, and picks the AVX2 copy at run
//! time when the CPU has both. The body is plain safe Rust; LLVM vectorizes it for the
//! wider registers. Results may differ in the last bit between the two copies (FMA
//! contraction), but never between threads or runs on one machine.

/// True when the running CPU supports AVX2 and FMA (cached by the standard library).
#[inline]
pub fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Define a function whose body is compiled for the baseline CPU and for AVX2+FMA, with
/// the faster copy chosen at run time. Arguments must be plain identifiers.
#[macro_export]
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                fn avx2_fma($($arg: $ty),*) $(-> $ret)? {
                    body($($arg),*)
                }
                if $crate::dispatch::has_avx2_fma() {
                    // SAFETY: `avx2_fma` only requires the AVX2 and FMA instruction set
                    // extensions, and `has_avx2_fma` has just confirmed the running CPU
                    // has both. The body itself is safe Rust. Tests run on AVX2 machines
                    // exercise this path and compare it with scalar references.
                    return unsafe { avx2_fma($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}
