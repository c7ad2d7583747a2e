using System;

namespace AzureSiteRecovery.DR.Core.Errors
{
    /// <summary>What kind of failure an exception is; the cmdlets map it to a PowerShell ErrorCategory.</summary>
    public enum FailureKind
    {
        NotFound,
        AlreadyExists,
        InvalidArgument,
        InUse,
        InvalidData,
        Unavailable,
        Unauthorized,
        Security,
        Cancelled,
        Failed,
    }

    /// <summary>
    /// The base of every failure the service library reports on purpose. <see cref="ErrorId"/> is
    /// stable (tests and scripts match on it); <see cref="Target"/> names the object concerned.
    /// </summary>
    public abstract class DRException : Exception
    {
        protected DRException(string errorId, FailureKind kind, string? target, string message, Exception? inner = null)
            : base(message, inner)
        {
            ErrorId = errorId;
            Kind = kind;
            Target = target;
        }

        public string ErrorId { get; }
        public FailureKind Kind { get; }
        public string? Target { get; }
    }

    /// <summary>A named vault object (site, policy, group, ...) that does not exist.</summary>
    public sealed class ObjectNotFoundException : DRException
    {
        /// <summary>A <paramref name="objectKind"/> named <paramref name="name"/> is missing; <paramref name="hint"/> says how to fix it, <paramref name="where"/> where it was looked for ("on site 'onprem'"; "in the vault" when null).</summary>
        public ObjectNotFoundException(string objectKind, string name, string? hint = null, string? where = null)
            : base(objectKind + "NotFound", FailureKind.NotFound, name,
                $"{Describe(objectKind)} '{Model.NameRules.Printable(name)}' was not found {where ?? "in the vault"}." + (hint is null ? "" : " " + hint))
        {
            ObjectKind = objectKind;
        }

        public string ObjectKind { get; }

        internal static string Describe(string objectKind) => objectKind switch
        {
            "Site" => "Site",
            "ReplicationPolicy" => "Replication policy",
            "ProtectionGroup" => "Protection group",
            "Vm" => "VM",
            "ProtectedVm" => "Protected VM",
            "RecoveryPoint" => "Recovery point",
            "RecoveryPlan" => "Recovery plan",
            "SiteNetwork" => "Network",
            "SiteDatastore" => "Datastore",
            "DRJob" => "Job",
            _ => objectKind,
        };
    }

    /// <summary>A name already taken by an object of the same kind.</summary>
    public sealed class ObjectAlreadyExistsException : DRException
    {
        public ObjectAlreadyExistsException(string objectKind, string name, string hint)
            : base(objectKind + "AlreadyExists", FailureKind.AlreadyExists, name,
                $"{ObjectNotFoundException.Describe(objectKind)} '{name}' already exists. {hint}")
        {
        }

        private ObjectAlreadyExistsException(string errorId, string name, string message, Exception? inner)
            : base(errorId, FailureKind.AlreadyExists, name, message, inner)
        {
        }

        /// <summary>A duplicate that deserves its own id and wording, such as VmAlreadyProtected.</summary>
        public static ObjectAlreadyExistsException Because(string errorId, string name, string message) =>
            new ObjectAlreadyExistsException(errorId, name, message, null);
    }

    /// <summary>An object that others still refer to (a policy used by a group, a group with protected VMs).</summary>
    public sealed class ObjectInUseException : DRException
    {
        public ObjectInUseException(string errorId, string name, string message)
            : base(errorId, FailureKind.InUse, name, message)
        {
        }
    }

    /// <summary>A setting out of bounds or inconsistent with another; the message names the setting and the fix.</summary>
    public sealed class InvalidSettingException : DRException
    {
        public InvalidSettingException(string objectKind, string name, string setting, string message)
            : base("Invalid" + objectKind + "Setting", FailureKind.InvalidArgument, name, message)
        {
            Setting = setting;
        }

        public string Setting { get; }
    }

    /// <summary>The vault file cannot be used: newer schema, corrupt, wrong key.</summary>
    public sealed class VaultException : DRException
    {
        public VaultException(string errorId, string path, string message, Exception? inner = null)
            : base(errorId, FailureKind.InvalidData, path, message, inner)
        {
        }

        public VaultException(string errorId, FailureKind kind, string path, string message, Exception? inner = null)
            : base(errorId, kind, path, message, inner)
        {
        }
    }

    /// <summary>Encrypted data that failed its integrity check: changed, damaged, or sealed with another key or purpose.</summary>
    public sealed class TamperedDataException : DRException
    {
        public TamperedDataException(string message)
            : base("EncryptedDataTampered", FailureKind.Security, null, message)
        {
        }
    }
}
