using System;

namespace AzureSiteRecovery.DR.Core.Errors
{
    /// <summary>
    /// A vim25 fault from a vCenter or ESXi host, from a call or from a task that ended in error.
    /// <see cref="DRException.ErrorId"/> is "VSphere" + the fault name, e.g. VSphereInvalidLogin.
    /// </summary>
    public sealed class VSphereFaultException : DRException
    {
        public VSphereFaultException(string faultName, string serverMessage, string? target, string? message = null, Exception? inner = null)
            : base("VSphere" + faultName, KindOf(faultName), target,
                message ?? Describe(faultName, serverMessage, target), inner)
        {
            FaultName = faultName;
            ServerMessage = serverMessage;
        }

        /// <summary>The vim25 fault type, such as InvalidLogin, ManagedObjectNotFound, InvalidPowerState.</summary>
        public string FaultName { get; }

        /// <summary>The faultstring or localized message the server sent; may be empty.</summary>
        public string ServerMessage { get; }

        internal static FailureKind KindOf(string faultName) => faultName switch
        {
            "InvalidLogin" => FailureKind.Unauthorized,
            "NoPermission" => FailureKind.Unauthorized,
            "NotAuthenticated" => FailureKind.Unauthorized,
            "ManagedObjectNotFound" => FailureKind.NotFound,
            "FileNotFound" => FailureKind.NotFound,
            "InvalidArgument" => FailureKind.InvalidArgument,
            "InvalidProperty" => FailureKind.InvalidArgument,
            "InvalidRequest" => FailureKind.InvalidArgument,
            "DuplicateName" => FailureKind.AlreadyExists,
            "FileAlreadyExists" => FailureKind.AlreadyExists,
            "InvalidState" => FailureKind.InUse,
            "InvalidPowerState" => FailureKind.InUse,
            "TaskInProgress" => FailureKind.InUse,
            "RequestCanceled" => FailureKind.Cancelled,
            _ => FailureKind.Failed,
        };

        private static string Describe(string faultName, string serverMessage, string? target)
        {
            var on = target is null ? "" : $" on '{target}'";
            return string.IsNullOrEmpty(serverMessage)
                ? $"vSphere reported the fault {faultName}{on}."
                : $"vSphere reported the fault {faultName}{on}: {serverMessage}";
        }
    }
}
