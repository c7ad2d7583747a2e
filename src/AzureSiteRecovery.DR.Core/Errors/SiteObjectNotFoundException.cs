namespace AzureSiteRecovery.DR.Core.Errors
{
    /// <summary>A network or datastore a site does not have (SiteNetworkNotFound, SiteDatastoreNotFound).</summary>
    public sealed class SiteObjectNotFoundException : DRException
    {
        public SiteObjectNotFoundException(string objectKind, string name, string site, string listCommand)
            : base("Site" + objectKind + "NotFound", FailureKind.NotFound, name,
                $"{objectKind} '{Model.NameRules.Printable(name)}' was not found on site '{site}'. {listCommand} -Site {site} lists what the site has.")
        {
        }
    }
}
