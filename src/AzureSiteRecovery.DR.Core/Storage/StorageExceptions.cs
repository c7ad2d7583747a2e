using System;
using AzureSiteRecovery.DR.Core.Errors;

namespace AzureSiteRecovery.DR.Core.Storage
{
    /// <summary>The object store cannot be reached (connection refused, timeout, server errors after retries, folder gone): the replication cycle spools and goes on.</summary>
    public sealed class StoreUnavailableException : DRException
    {
        public StoreUnavailableException(string location, string message, Exception? inner = null)
            : base("ObjectStoreUnavailable", FailureKind.Unavailable, location, message, inner)
        {
        }
    }

    /// <summary>No object under the key.</summary>
    public sealed class StoreObjectNotFoundException : DRException
    {
        public StoreObjectNotFoundException(string location, string key)
            : base("ObjectStoreKeyNotFound", FailureKind.NotFound, key, $"The object store '{location}' has no object '{key}'.")
        {
            Key = key;
        }

        public string Key { get; }
    }

    /// <summary>The store refused the credentials or the operation (HTTP 401/403, file permissions).</summary>
    public sealed class StoreAccessDeniedException : DRException
    {
        public StoreAccessDeniedException(string location, string message, Exception? inner = null)
            : base("ObjectStoreAccessDenied", FailureKind.Unauthorized, location, message, inner)
        {
        }
    }

    /// <summary>The store answered but refused a request for another reason than access (a bug, or a store feature missing): spooling would not help.</summary>
    public sealed class StoreRequestFailedException : DRException
    {
        public StoreRequestFailedException(string location, string message, Exception? inner = null)
            : base("ObjectStoreRequestFailed", FailureKind.Failed, location, message, inner)
        {
        }
    }

    /// <summary>Why a chunk of a recovery point cannot be read back as it was written.</summary>
    public enum ChunkProblemKind
    {
        /// <summary>No object for the chunk in the store.</summary>
        Missing,
        /// <summary>The authentication tag does not match: the object was changed, damaged, swapped with another, or sealed with another key.</summary>
        Tampered,
        /// <summary>The tag is right but the content does not decompress to the recorded length.</summary>
        Malformed,
        /// <summary>Opens and decompresses, but its SHA-256 is not the one the manifest records.</summary>
        HashMismatch,
    }

    /// <summary>A chunk that cannot be read back: missing, tampered or damaged. Never silently replaced by other data.</summary>
    public sealed class ChunkDamagedException : DRException
    {
        public ChunkDamagedException(ChunkHash hash, string objectKey, ChunkProblemKind problem, string message, Exception? inner = null)
            : base(problem == ChunkProblemKind.Missing ? "ChunkMissing" : "ChunkDamaged",
                problem == ChunkProblemKind.Missing ? FailureKind.NotFound : FailureKind.InvalidData, objectKey, message, inner)
        {
            Hash = hash;
            ObjectKey = objectKey;
            Problem = problem;
        }

        public ChunkHash Hash { get; }
        public string ObjectKey { get; }
        public ChunkProblemKind Problem { get; }
    }

    /// <summary>A recovery point manifest that cannot be read: missing, tampered, or in a format this module does not know.</summary>
    public sealed class RecoveryPointManifestException : DRException
    {
        public RecoveryPointManifestException(string errorId, FailureKind kind, string objectKey, string message, Exception? inner = null)
            : base(errorId, kind, objectKey, message, inner)
        {
        }
    }
}
