namespace AzureSiteRecovery.DR.Core.Errors
{
    /// <summary>
    /// A write to a VM's disk that could not be proven safe: the server did not confirm a ranged
    /// write (DatastoreRangedWriteUnsupported), or a disk read back after failback differs from the
    /// point it was written from (FailbackVerifyFailed).
    /// </summary>
    public sealed class DiskWriteException : DRException
    {
        public DiskWriteException(string errorId, string target, string message)
            : base(errorId, FailureKind.InvalidData, target, message)
        {
        }
    }

    /// <summary>
    /// The VM or vCenter found is not the one recorded in the vault (VmIdentityChanged: a VM's
    /// config.instanceUuid or its vCenter's about.instanceUuid; SiteServerChanged: Set-DRSite -Server
    /// pointing a site at another vCenter). Nothing was read or written.
    /// </summary>
    public sealed class IdentityChangedException : DRException
    {
        public IdentityChangedException(string errorId, string target, string message)
            : base(errorId, FailureKind.InvalidData, target, message)
        {
        }
    }

    /// <summary>A vSphere site with a plain http:// URL (the password would go in clear) that was not created with -AllowInsecureHttp.</summary>
    public sealed class InsecureHttpRefusedException : DRException
    {
        public InsecureHttpRefusedException(string siteName, string server)
            : base("InsecureHttpRefused", FailureKind.Security, siteName,
                $"Site '{siteName}' uses plain http ({server}): its password would be sent in clear. Use an https:// URL, " +
                $"or, only for a lab on a trusted network, allow it explicitly: New-DRSite ... -AllowInsecureHttp (or Set-DRSite -Name {siteName} -AllowInsecureHttp).")
        {
        }
    }
}
